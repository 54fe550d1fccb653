from clubpengu.cli import main

raise SystemExit(main())
