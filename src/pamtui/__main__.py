from pamtui.cli import main

raise SystemExit(main())
