"""The Qt face of Praxis: tray, dialogs and windows. Thin: every decision lives in app.core."""
