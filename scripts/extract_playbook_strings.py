#!/usr/bin/env python3
"""Write or update the playbook catalogs (copilot/playbooks/locales/<lang>/<playbook>.po and common.po).

    python scripts/extract_playbook_strings.py --lang es --lang de --lang fr   # add new strings, keep translations
    python scripts/extract_playbook_strings.py --check                         # exit 1 listing untranslated strings

Without --lang it works on every language that already has a folder under copilot/playbooks/locales.
The work is done by copilot.playbooks.extraction (the tests call it too).
"""

import sys

from copilot.playbooks.extraction import main

if __name__ == "__main__":
    sys.exit(main())
