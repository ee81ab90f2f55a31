"""``python -m bot`` runs the bot; ``identities``, ``audit`` and ``check`` are for admins."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from bot.errors import ConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="enable-schedule, the COC Slack bot")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the bot (the default)")
    sub.add_parser("identities", help="validate the identity map and show who maps to what")
    sub.add_parser("audit", help="print the audit trail (see `python -m bot audit --help`)", add_help=False)
    sub.add_parser("check", help="check settings, Slack, the store and every identity's COC access")
    args, rest = parser.parse_known_args(argv)
    try:
        if args.command == "identities":
            from bot.identities import report
            from bot.settings import IdentitySettings, load

            return report.main(load(IdentitySettings).identity_map, os.environ)
        if args.command == "audit":
            from bot.audit import cli
            from bot.settings import StoreSettings, load

            code: int = asyncio.run(cli.main(rest, load(StoreSettings).database_url))
            return code
        if args.command == "check":
            from bot import check

            return asyncio.run(check.main())
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        from bot import serve

        asyncio.run(serve.run())
    except ConfigError as exc:
        print(f"enable-schedule: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
