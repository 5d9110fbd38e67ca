"""A fake e-Léman (Com'Chain) node: a small real HTTP server on 127.0.0.1 answering, from an in-memory
ledger, the three calls `payments.comchain.ComChainNode` makes, in the shapes the real node's API gives
(github.com/com-chain/api: api.php, trnslist.php; the currency's configuration under /ipns/…/configs/):

- `GET /api.php?hash=0x…`: the transaction as a JSON string holding JSON (the node encodes it twice): its
  index row (add1, add2, addr_from, addr_to, direction, status 0 committed / 1 pending, hash, time,
  recieved / sent / tax in cents, type, block, store_id, store_ref) plus `transaction`, the chain's record
  (`to` the currency's contract, `blockNumber` null while pending); `{"error": true, "msg": ""}` when unknown.
- `GET /trnslist.php?addr=0x…&count=N&offset=M`: the wallet's latest transactions, each row a JSON string.
- `GET /ipns/…/configs/{server}.json`: `{"server": {"name", "contract_1", "contract_2"}}`.

Tests drive it like a network: `pay(...)` puts a transaction in the ledger, `confirm(hash)` mines it,
`failing = 503` makes every answer an HTTP error, `delay = s` slows every answer, `stop()` closes the port,
`start()` opens it again on the same port.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from marketplace.settings import Settings
from payments.comchain import CONFIG_PATH

LEMAN_CONTRACT_1 = "0x" + "1" * 40
LEMAN_CONTRACT_2 = "0x" + "2" * 40
OTHER_CURRENCY_CONTRACT = "0x" + "9" * 40


@dataclass
class LedgerTransaction:
    tx_hash: str
    sender: str
    recipient: str
    cents: int
    store_id: str = ""
    store_ref: str = ""
    final: bool = True
    kind: str = "Transfer"
    contract: str = LEMAN_CONTRACT_2
    block: int = 0
    time: int = field(default_factory=lambda: int(time.time()))

    def row(self) -> dict[str, Any]:
        """As api.php and trnslist.php give it (the sender's view, direction 1)."""
        return {
            "add1": self.sender, "add2": self.recipient, "addr_from": self.sender, "addr_to": self.recipient,
            "direction": 1, "status": 0 if self.final else 1, "hash": self.tx_hash, "time": self.time,
            "recieved": self.cents, "sent": self.cents, "tax": 0, "type": self.kind,
            "block": str(self.block) if self.final else "", "store_id": self.store_id or None,
            "store_ref": self.store_ref or None, "message_from": None, "message_to": None, "delegate": None,
        }  # fmt: skip

    def chain(self) -> dict[str, Any]:
        """As eth_getTransactionByHash gives it."""
        return {
            "hash": self.tx_hash, "from": self.sender, "to": self.contract, "value": "0x0", "input": "0x",
            "blockNumber": hex(self.block) if self.final else None, "blockHash": None, "nonce": "0x1",
        }  # fmt: skip


class FakeLemanNode:
    def __init__(self, server_name: str = "Monnaie-Leman") -> None:
        self.server_name = server_name
        self.ledger: dict[str, LedgerTransaction] = {}
        self.requests: list[str] = []  # paths asked, in order
        self.failing: int | None = None  # an HTTP status every call answers
        self.delay = 0.0
        self.oversized = False  # answer a body bigger than any client should accept
        self._blocks = itertools.count(100)
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    # --- the ledger --------------------------------------------------------------------------------------

    def pay(
        self,
        recipient: str,
        amount_cents: int,
        *,
        store_id: str = "",
        store_ref: str = "",
        sender: str = "0x" + "a" * 40,
        final: bool = True,
        kind: str = "Transfer",
        contract: str = LEMAN_CONTRACT_2,
    ) -> str:
        """A transaction on the network; its hash."""
        seed = f"{len(self.ledger)}:{recipient}:{amount_cents}:{store_ref}"
        tx_hash = "0x" + hashlib.sha256(seed.encode()).hexdigest()
        self.ledger[tx_hash] = LedgerTransaction(
            tx_hash, sender.lower(), recipient.lower(), amount_cents, store_id, store_ref, final, kind, contract,
            next(self._blocks) if final else 0,
        )  # fmt: skip
        return tx_hash

    def confirm(self, tx_hash: str) -> None:
        """The pending transaction is mined."""
        self.ledger[tx_hash].final, self.ledger[tx_hash].block = True, next(self._blocks)

    def lookups(self, tx_hash: str) -> int:
        return sum(1 for path in self.requests if path.startswith("/api.php") and tx_hash in path)

    # --- the server ----------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeLemanNode:
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                node.requests.append(self.path)
                if node.delay:
                    time.sleep(node.delay)
                status, body = node.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeLemanNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answer(self, path: str) -> tuple[int, bytes]:
        if self.failing:
            return self.failing, b'{"error": true, "msg": "node overloaded"}'
        if self.oversized:
            return 200, json.dumps({"padding": "x" * (1024 * 1024)}).encode()
        url = urlsplit(path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        if url.path == "/api.php" and "hash" in query:
            found = self.ledger.get(query["hash"].lower())
            if found is None:
                return 200, json.dumps({"error": True, "msg": "", "data": ""}).encode()
            return 200, json.dumps(json.dumps({**found.row(), "transaction": found.chain()})).encode()
        if url.path == "/trnslist.php":
            addr = query.get("addr", "").lower()
            count, offset = int(query.get("count", "5")), int(query.get("offset", "0"))
            mine = [t for t in self.ledger.values() if addr in (t.sender, t.recipient)]
            mine.sort(key=lambda t: (t.time, t.tx_hash), reverse=True)
            return 200, json.dumps([json.dumps(t.row()) for t in mine[offset : offset + count]]).encode()
        if url.path == CONFIG_PATH.format(server=self.server_name):
            server = {"name": self.server_name, "contract_1": LEMAN_CONTRACT_1, "contract_2": LEMAN_CONTRACT_2}
            return 200, json.dumps({"server": server}).encode()
        return 404, b"Bye!"


def settings_with_node(settings: Settings, node_url: str, public_key_file: Path | None = None) -> Settings:
    """The deployment's settings with its e-Léman node (and the node's webhook key) replaced."""
    assert settings.payments is not None and settings.payments.leman is not None
    leman = replace(settings.payments.leman, node_url=node_url)
    if public_key_file is not None:
        leman = replace(leman, public_key_file=public_key_file)
    return replace(settings, payments=replace(settings.payments, leman=leman))
