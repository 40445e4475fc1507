from praxis_collector.cli import main

raise SystemExit(main())
