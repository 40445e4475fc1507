import pkgutil
import subprocess
import sys

import app.core


def test_core_imports_with_qt_blocked() -> None:
    modules = [m.name for m in pkgutil.walk_packages(app.core.__path__, "app.core.")]
    script = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'shiboken6', 'PyQt5', 'PyQt6'):
            raise ImportError('Qt is not allowed in app.core: ' + name)
sys.meta_path.insert(0, Block())
import importlib
for name in {modules!r}:
    importlib.import_module(name)
assert not any(m.startswith('PySide6') for m in sys.modules)
print(len({modules!r}))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 15
