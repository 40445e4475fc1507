# Builds dist\Praxis-<version>.msi on Windows from the PyInstaller bundle dist\praxis, with the
# WiX Toolset v3 (heat, candle, light; $env:WIX points at it once installed).
#
# Run from the repository root, after `pyinstaller build.spec`:
#   powershell -File installers\windows\build-msi.ps1
#
# Signing happens when SIGN_CERT_FILE (a .pfx) and SIGN_CERT_PASSWORD are set; the executables
# are signed before they are packed, then the MSI itself.
$ErrorActionPreference = "Stop"

if (-not (Test-Path build.spec) -or -not (Test-Path installers\windows\praxis.wxs)) {
    throw "Run this from the repository root: powershell -File installers\windows\build-msi.ps1"
}
if (-not (Test-Path dist\praxis\praxis-tray.exe)) {
    throw "dist\praxis is missing: build it first with  pyinstaller --noconfirm build.spec"
}
$version = (Select-String -Path app\__init__.py -Pattern '^__version__ = "(.+)"$').Matches[0].Groups[1].Value
$wixBin = Join-Path $env:WIX "bin"
$work = "build\msi"
New-Item -ItemType Directory -Force -Path $work, dist | Out-Null

function Sign-File([string]$path) {
    if ($env:SIGN_CERT_FILE) {
        signtool sign /fd SHA256 /tr http://timestamp.digicert.com /td SHA256 `
            /f $env:SIGN_CERT_FILE /p $env:SIGN_CERT_PASSWORD $path
        if ($LASTEXITCODE -ne 0) { throw "signtool failed on $path" }
    }
}
Sign-File dist\praxis\praxis.exe
Sign-File dist\praxis\praxis-tray.exe

# Every file of the bundle as a component of the Payload group, under INSTALLDIR.
& "$wixBin\heat.exe" dir dist\praxis -nologo -cg Payload -dr INSTALLDIR -srd -sreg -gg -sfrag `
    -var var.SourceDir -out "$work\payload.wxs"
if ($LASTEXITCODE -ne 0) { throw "heat failed" }
& "$wixBin\candle.exe" -nologo -arch x64 -dSourceDir=dist\praxis -dVersion=$version -dWin64=yes `
    -out "$work\" installers\windows\praxis.wxs "$work\payload.wxs"
if ($LASTEXITCODE -ne 0) { throw "candle failed" }
$msi = "dist\Praxis-$version.msi"
& "$wixBin\light.exe" -nologo -out $msi "$work\praxis.wixobj" "$work\payload.wixobj"
if ($LASTEXITCODE -ne 0) { throw "light failed" }
Sign-File $msi
Write-Output $msi
