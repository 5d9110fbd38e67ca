"""`python -m bot` (or `make run`): start the chat channels configured by the environment, and the outbox.

    python -m bot             talk to a Rasa server already running at RASA_URL
    python -m bot --servers   also start Rasa and the action server (what `make run` does)

Environment (`python -m bot --help` lists it too):

TELEGRAM_BOT_TOKEN    a token from @BotFather; long polling unless
                      TELEGRAM_WEBHOOK_URL is set
TELEGRAM_WEBHOOK_URL  public HTTPS URL Telegram posts updates to, served on
                      TELEGRAM_WEBHOOK_LISTEN (127.0.0.1) port
                      TELEGRAM_WEBHOOK_PORT (8443), behind a proxy
TELEGRAM_API_URL      a self-hosted Bot API server (default: Telegram's)
MATRIX_HOMESERVER     e.g. https://matrix.example.org
MATRIX_USER_ID        e.g. @marche:example.org
MATRIX_ACCESS_TOKEN   or MATRIX_PASSWORD
MATRIX_DEVICE_ID      keep it stable across restarts (default SMARTKETPLACE)
MATRIX_ROOMS          comma-separated room ids the bot may join besides
                      direct chats
SMARTKET_MATRIX_STORE_KEY  seals the bot's Matrix encryption keys; default:
                      <data_dir>/secrets/matrix-store-key (created by the
                      demo only); keep it, with MATRIX_DEVICE_ID
RASA_URL              default http://127.0.0.1:5005
SMARTKET_CHANNEL_SECRET  the secret Rasa's REST channel asks of every
                      message; default: <data_dir>/secrets/channel-secret
                      (`admin_cli.py rasa secrets` creates it)
CATALOG_HTTP_PORT     e.g. 8090: publish the catalog read-only (DFC, schema.org
                      JSON-LD) on CATALOG_HTTP_LISTEN (127.0.0.1) at that port
CATALOG_PUBLIC_URL    its public URL behind your proxy (the documents' @ids)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer

from bootstrap import App, build_app
from bot.catalog_http import catalog_services
from bot.channel import Channel, ChannelConfigError
from bot.commands import Commands
from bot.dispatcher import OutboxDispatcher
from bot.payment_jobs import LemanWebhook, PaymentJobs, RetentionJob
from bot.rasa_client import DEFAULT_URL, AsyncRasaClient
from bot.router import Router
from marketplace import log_privacy, migrate
from marketplace.secrets import CHANNEL, MissingSecret, load_secret, secrets_dir

log = logging.getLogger("bot")

HELP = """No chat channel is configured. Set, for Telegram:
    TELEGRAM_BOT_TOKEN=123456:ABC...          (from @BotFather)
and/or, for Matrix:
    MATRIX_HOMESERVER=https://matrix.example.org MATRIX_USER_ID=@bot:example.org
    MATRIX_ACCESS_TOKEN=...  (or MATRIX_PASSWORD=...)
then run `make run` again. To try the assistant without any account: `make demo` (a chat in the terminal)."""


@dataclass
class BotProcess:
    """Every channel, the outbox dispatcher and their shared Rasa client, started and stopped together."""

    app: App
    rasa: AsyncRasaClient
    channels: list[Any] = field(default_factory=list)
    connected: list[Any] = field(default_factory=list)
    services: list[Any] = field(default_factory=list)  # e.g. the e-Léman webhook endpoint
    jobs: PaymentJobs | None = None
    dispatcher: OutboxDispatcher | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        """Connect every channel in the background, each retrying on its own while its platform is
        unreachable, and start delivering the outbox (a channel not connected yet fails its sends
        temporarily, so they are retried)."""
        for channel in self.channels:
            self._tasks.append(asyncio.create_task(self._connect(channel), name=f"connect-{channel.name}"))
        self.dispatcher = OutboxDispatcher(self.app.db, self.channels)
        self._tasks.append(asyncio.create_task(self.dispatcher.run(), name="outbox"))
        for service in self.services:
            await service.start()
        if self.jobs is not None:
            self._tasks.append(asyncio.create_task(self.jobs.run(), name="payment-jobs"))

    async def wait_connected(self) -> None:
        await asyncio.gather(*(t for t in self._tasks if t.get_name().startswith("connect-")))

    async def _connect(self, channel: Channel, max_delay: float = 60.0) -> None:
        delay = 1.0
        while True:
            try:
                await channel.start()
            except ChannelConfigError as exc:
                log.error("%s: %s; this channel stays off", channel.name, exc)
                return
            except Exception as exc:  # network trouble: try again later, never a crash loop
                log.warning("%s not reachable (%s); retrying in %.0f s", channel.name, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, max_delay)
                continue
            self.connected.append(channel)
            return

    async def stop(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.stop()
        if self.jobs is not None:
            self.jobs.stop()
        for service in self.services:
            with contextlib.suppress(Exception):
                await service.stop()
        for task in self._tasks:
            if task.get_name().startswith("connect-"):
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for channel in reversed(self.connected):
            with contextlib.suppress(Exception):
                await channel.stop()
        await self.rasa.close()


def build_process(app: App, env: Mapping[str, str], *, rasa_url: str | None = None) -> BotProcess:
    """Every channel `env` configures, sharing one Rasa client that holds the channel secret (from `env`,
    else the deployment's secret file; MissingSecret when there is none)."""
    secret = load_secret(CHANNEL, app.settings.data_dir, env, create=app.settings.demo)
    rasa = AsyncRasaClient(rasa_url or env.get("RASA_URL", DEFAULT_URL), secret=secret)
    commands = Commands(app)
    from marketplace.media import MediaPolicy
    from payments.documents import payment_folder

    # The only local files sent: catalog photos, payment documents, and a person's /mydata file.
    media = MediaPolicy(app.settings.media_dir, payment_folder(app.settings), commands.exports)
    commands.sweep_exports()  # /mydata files a stopped process left behind
    process = BotProcess(app, rasa)
    if env.get("TELEGRAM_BOT_TOKEN"):
        from bot.telegram_bot import TelegramChannel

        api = env.get("TELEGRAM_API_URL", "")
        process.channels.append(
            TelegramChannel(
                env["TELEGRAM_BOT_TOKEN"],
                Router(rasa, commands, "telegram"),
                base_url=api or None,
                base_file_url=env.get("TELEGRAM_FILE_URL") or api or None,
                webhook_url=env.get("TELEGRAM_WEBHOOK_URL", ""),
                webhook_listen=env.get("TELEGRAM_WEBHOOK_LISTEN", "127.0.0.1"),
                webhook_port=int(env.get("TELEGRAM_WEBHOOK_PORT", "8443")),
                webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET", ""),
                languages=app.settings.languages,
                media=media,
            )
        )
    if env.get("MATRIX_HOMESERVER") and env.get("MATRIX_USER_ID"):
        from bot.matrix_bot import MatrixChannel
        from bot.matrix_crypto import crypto_store

        # End-to-end encryption needs the store's key: a production bot without it stops here (MissingSecret).
        store = crypto_store(app.settings.data_dir, env, create=app.settings.demo)
        process.channels.append(
            MatrixChannel(
                env["MATRIX_HOMESERVER"],
                env["MATRIX_USER_ID"],
                Router(rasa, commands, "matrix"),
                app.db,
                access_token=env.get("MATRIX_ACCESS_TOKEN", ""),
                password=env.get("MATRIX_PASSWORD", ""),
                device_id=env.get("MATRIX_DEVICE_ID", "SMARTKETPLACE"),
                allowed_rooms=tuple(r.strip() for r in env.get("MATRIX_ROOMS", "").split(",") if r.strip()),
                default_language=app.settings.default_language,
                media=media,
                store=store,
            )
        )
    process.services.append(RetentionJob(app))  # personal data past its retention ([privacy])
    process.services += catalog_services(app, env)  # published catalog, scheduled source syncs (bot/catalog_http)
    payments = app.settings.payments
    if payments is not None:
        process.jobs = PaymentJobs(app, interval=float(env.get("PAYMENT_JOBS_INTERVAL", "300")))
        if payments.leman is not None:
            host = env.get("LEMAN_WEBHOOK_LISTEN", "127.0.0.1")
            process.services.append(LemanWebhook(app, host, int(env.get("LEMAN_WEBHOOK_PORT", "8089"))))
    return process


async def serve(env: Mapping[str, str], with_servers: bool = False) -> int:
    try:  # a missing data key or secret stops here, saying what to do
        app = build_app()
    except MissingSecret as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    log_privacy.add_secrets(log_privacy.secret_values({}, secrets_dir(app.settings.data_dir)))  # files: known now
    try:
        process = build_process(app, env)
    except MissingSecret as exc:
        print(f"error: {exc}", file=sys.stderr)
        app.close()
        return 1
    if not process.channels:
        print(HELP, file=sys.stderr)
        await process.rasa.close()
        app.close()
        return 2
    migrate.upgrade(app.db)
    servers = None
    try:
        if with_servers:
            from dialogues.runtime import Servers

            servers = Servers(app.settings)
            try:
                servers.secrets  # noqa: B018 - a missing secret stops here, saying what to do
            except MissingSecret as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            log.info("starting Rasa and the action server (loading the model takes about a minute)")
            servers.start()
            await asyncio.to_thread(servers.wait_ready)
        if not await process.rasa.ready():
            log.warning("Rasa is not answering at %s yet; users get 'please retry' until it does", process.rasa.url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await process.start()
        log.info("bot running (%s); Ctrl-C to stop", ", ".join(c.name for c in process.channels))
        await stop.wait()
        log.info("stopping")
    finally:
        await process.stop()
        if servers is not None:
            servers.stop()
        app.close()
    return 0


ENVIRONMENT = (__doc__ or "").partition("Environment (`python -m bot --help` lists it too):")[2].strip()
cli = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@cli.command(epilog="Environment:\n" + ENVIRONMENT)
def run(
    servers: Annotated[
        bool, typer.Option("--servers", help="Also start Rasa and the action server (what `make run` does).")
    ] = False,
) -> None:
    """Start the chat channels configured by the environment (Telegram, Matrix) and the outbox.

    Without --servers, talks to a Rasa server already running at RASA_URL."""
    # Before anything logs: no message text, personal data or secret in the log (marketplace/log_privacy.py).
    log_privacy.install(log_privacy.secret_values(os.environ), level=logging.INFO)
    raise typer.Exit(asyncio.run(serve(os.environ, with_servers=servers)))


if __name__ == "__main__":
    cli()
