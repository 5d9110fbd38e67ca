"""The e-Léman node, asked over HTTP: what it knows of a transaction, of a wallet's recent transactions, and
which contracts are the currency's. The source of truth for e-Léman payments (a webhook is only a hint).

The Com'Chain node API (github.com/com-chain/api, as the Biletujo wallet and pyc3l use it):

- `GET {node}/api.php?hash=0x…` answers a JSON *string* holding the JSON of the transaction (encoded twice):
  the node's index row (`hash`, `addr_from`, `addr_to`, `recieved` and `sent` in cents, `type` Transfer or
  TransferCredit, `status` 0 committed / 1 pending, `block`, and for a shop payment `store_id` and
  `store_ref`, the reference of the payment request) plus `transaction`, the chain's own record
  (`eth_getTransactionByHash`: `to` is the currency's contract, `blockNumber` null until mined). An unknown
  hash answers `{"error": true, "msg": ""}`; a node fault, `{"error": true, "msg": "why"}`.
- `GET {node}/trnslist.php?addr=0x…&count=N&offset=M` lists a wallet's latest transactions, newest first,
  each row encoded as a JSON string.
- `GET {node}/ipns/…/configs/{server}.json` is the currency's configuration: `server.contract_1` and
  `server.contract_2` are its contracts.

Every call has a timeout and a size limit; whatever goes wrong on the way (refused connection, timeout,
HTTP error, an answer too big or not the expected JSON) is `NodeUnavailable`, and nothing is concluded.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

CONFIG_PATH = "/ipns/QmaAAZor2uLKnrzGCwyXTSwogJqmPjJgvpYgpmtz5XcSmR/configs/{server}.json"
TX_HASH = re.compile(r"^0x[0-9a-f]{64}$")
ADDRESS = re.compile(r"^0x[0-9a-f]{40}$")
PAYMENT_TYPES = frozenset({"Transfer", "TransferCredit"})  # pledged Léman, mutual credit
CENT = Decimal("0.01")


class NodeUnavailable(Exception):
    """The node could not be asked, or did not answer something we can read: try again later."""


@dataclass(frozen=True)
class NodeTransaction:
    """What the node says of one transaction."""

    tx_hash: str
    final: bool  # mined and indexed as committed; False: pending
    sender: str
    recipient: str
    amount: Decimal | None  # Léman the recipient received (None: the node does not say yet)
    kind: str  # Transfer, TransferCredit, Pledge…
    contract: str  # the contract the transaction called: which currency it moved
    store_id: str
    reference: str  # the payment request's reference (txId), as the node recorded it


def is_tx_hash(value: str) -> bool:
    return bool(TX_HASH.match(value))


def _cents(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool) or str(value).strip() == "":
        return None
    try:
        cents = Decimal(str(value))
    except InvalidOperation:
        return None
    if not cents.is_finite() or cents != cents.to_integral_value():
        return None
    return (cents / 100).quantize(CENT)


def _mined(chain: Any) -> bool:
    number = chain.get("blockNumber") if isinstance(chain, dict) else None
    return isinstance(number, str) and number.lower() not in ("", "0x", "0x0")


def transaction_from_row(row: dict[str, Any]) -> NodeTransaction:
    """A transaction from the node's answer (an index row, with the chain's record under `transaction`)."""
    chain = row.get("transaction") if isinstance(row.get("transaction"), dict) else {}
    committed = str(row.get("status", "")).strip() == "0"
    return NodeTransaction(
        tx_hash=str(row.get("hash") or chain.get("hash") or "").lower(),
        final=committed and _mined(chain),
        sender=str(row.get("addr_from") or chain.get("from") or "").lower(),
        recipient=str(row.get("addr_to") or "").lower(),
        amount=_cents(row.get("recieved", row.get("received"))),
        kind=str(row.get("type") or ""),
        contract=str(chain.get("to") or "").lower(),
        store_id=str(row.get("store_id") or ""),
        reference=str(row.get("store_ref") or ""),
    )


class ComChainNode:
    """A Com'Chain node at `base_url` (the deployment's `payments.leman.node_url`) for the currency
    `server_name`. Synchronous: call it from a worker thread, never while a database transaction is open."""

    def __init__(
        self,
        base_url: str,
        server_name: str,
        *,
        timeout: float = 10.0,
        max_bytes: int = 256 * 1024,
        client: httpx.Client | None = None,
    ) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise ValueError("the e-Léman node URL must be http(s)")
        self.base_url, self.server_name, self.max_bytes = base_url.rstrip("/"), server_name, max_bytes
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False)
        self._contracts: frozenset[str] | None = None

    def close(self) -> None:
        self._client.close()

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        """The JSON at `path`, read up to `max_bytes`; NodeUnavailable for anything else."""
        try:
            with self._client.stream("GET", f"{self.base_url}{path}", params=params) as response:
                if response.status_code != 200:
                    raise NodeUnavailable(f"HTTP {response.status_code} from the node")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise NodeUnavailable("the node's answer is too large")
        except httpx.HTTPError as exc:
            raise NodeUnavailable(f"{type(exc).__name__} asking the node") from exc
        try:
            return json.loads(body)
        except ValueError as exc:
            raise NodeUnavailable("the node's answer is not JSON") from exc

    @staticmethod
    def _decoded(value: Any) -> Any:
        """The node encodes some answers twice (a JSON string holding JSON)."""
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError as exc:
                raise NodeUnavailable("the node's answer is not JSON") from exc
        return value

    def transaction(self, tx_hash: str) -> NodeTransaction | None:
        """What the node says of `tx_hash`; None when it does not know it."""
        if not is_tx_hash(tx_hash):
            raise ValueError("not a transaction hash")
        answer = self._decoded(self._get("/api.php", {"hash": tx_hash}))
        if not isinstance(answer, dict):
            raise NodeUnavailable("unexpected answer to a transaction lookup")
        if answer.get("error"):
            if answer.get("msg"):
                raise NodeUnavailable("the node failed to look the transaction up")
            return None
        found = transaction_from_row(answer)
        if not found.tx_hash:
            return None  # neither the index nor the chain knows it
        if found.tx_hash != tx_hash:
            raise NodeUnavailable("the node answered for another transaction")
        return found

    def recent(self, wallet: str, count: int = 50) -> list[NodeTransaction]:
        """The wallet's latest transactions, newest first."""
        if not ADDRESS.match(wallet):
            raise ValueError("not a wallet address")
        answer = self._get("/trnslist.php", {"addr": wallet, "count": str(count), "offset": "0"})
        if not isinstance(answer, list):
            raise NodeUnavailable("unexpected answer to a transaction list")
        rows = [self._decoded(item) for item in answer]
        return [transaction_from_row(row) for row in rows if isinstance(row, dict)]

    def currency_contracts(self) -> frozenset[str]:
        """The contracts of our currency (cached: they do not change)."""
        if self._contracts is None:
            config = self._get(CONFIG_PATH.format(server=self.server_name))
            server = config.get("server") if isinstance(config, dict) else None
            contracts = {
                str(server.get(name, "")).lower() for name in ("contract_1", "contract_2")
            } if isinstance(server, dict) else set()  # fmt: skip
            contracts.discard("")
            if not contracts:
                raise NodeUnavailable("the currency's configuration names no contract")
            self._contracts = frozenset(contracts)
        return self._contracts
