import sys

from dirvae.cli.main import main

sys.exit(main())
