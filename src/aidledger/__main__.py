"""``python -m aidledger``: the ``aidledger`` command."""

from aidledger.cli import main

if __name__ == "__main__":
    main()
