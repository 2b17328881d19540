"""The `newsbot` command's entry point and the composition root.

It is the one place that hands the Telegram handlers (this package) to the
bot's runtime, so `bot` never imports `handlers`. The handlers, and with them
python-telegram-bot, are imported only by a command that runs the bot.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.cli.main import main as cli_main

if TYPE_CHECKING:
    from bot.runtime.app import AnyApplication


def install_handlers(application: AnyApplication) -> None:
    from handlers.app import install

    install(application)


def main(argv: Sequence[str] | None = None) -> int:
    return cli_main(argv, install_handlers=install_handlers)


if __name__ == "__main__":
    sys.exit(main())
