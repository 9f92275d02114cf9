import sys
import warnings

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

from local_stack.cli import main  # noqa: E402

sys.exit(main())
