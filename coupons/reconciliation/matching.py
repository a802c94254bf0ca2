"""Matching two sides of a reconciliation, pure and deterministic: no database, no clock.

The file side is a settlement file or a POS journal; the other side is the hub, or the settlement file
when a POS journal is compared with it. Each side is a list of entries (redemptions and reversals of
coupon codes). Per coupon code, a reversal is paired with the redemption it undoes (the latest one not
yet reversed before it); then the two sides' redemptions are paired, closest first (see ``_pair``), and
the reversals follow their redemptions. Every entry ends up in exactly one outcome, except the other
side's cancelled redemptions that the file does not show at all: a same-day cancellation (撤销核销) never
reaches settlement, so its absence is agreement, not a difference. A return after a refund (退券) is
different: the redemption was settled and the return is clawed back, so the file must show both lines,
and a returned redemption the file lacks is missing at the partner like any other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from coupons.reconciliation.models import LineClass, LineKind
from hub.errors import present

C = LineClass


@dataclass(eq=False)
class Entry:
    code: str
    store_code: str
    day: date
    amount_fen: int
    kind: LineKind
    order: tuple  # time order within its side: (day, ...) for the file, (created_at, id) for the hub
    partner_ref: str = ""
    line: int | None = None  # the file line, for file entries
    reversal: Entry | None = None  # set on a redemption that this side reversed
    cancellation: bool = False  # a reversal that voids its redemption before settlement (撤销核销), not a return


@dataclass(frozen=True)
class Outcome:
    line_class: LineClass
    kind: LineKind
    file: Entry | None
    hub: Entry | None
    detail: str = ""

    @property
    def shown(self) -> Entry:
        """The entry whose code, store and day the outcome is listed under: the file's when it has one."""
        return present(self.file or self.hub, "an outcome has the file's entry, the hub's or both")

    def sort_key(self) -> tuple:
        e = self.shown
        return (e.day, e.store_code, e.code, self.kind != LineKind.REDEMPTION, e.line or 0,
                self.line_class.value, self.hub.order if self.hub else ())


def chain(entries: Iterable[Entry]) -> tuple[list[Entry], list[Entry]]:
    """(redemptions with their reversal set, reversals with no redemption of their side before them);
    ``entries`` are one side's, in its time order."""
    open_by_code: dict[str, list[Entry]] = defaultdict(list)
    redemptions, orphans = [], []
    for entry in entries:
        pending = open_by_code[entry.code]
        if entry.kind == LineKind.REDEMPTION:
            redemptions.append(entry)
            pending.append(entry)
        elif pending:
            pending.pop().reversal = entry
        else:
            orphans.append(entry)
    return redemptions, orphans


def dedup(file: list[Entry]) -> tuple[list[Entry], list[Outcome]]:
    """(the file's entries without repeats, one duplicated_in_file outcome per repeat): a repeat has the
    kind, coupon code and partner reference of an earlier line."""
    seen: dict[tuple, int | None] = {}
    unique, repeats = [], []
    for entry in file:
        first = seen.setdefault((entry.kind, entry.code, entry.partner_ref), entry.line)
        if first != entry.line:
            repeats.append(Outcome(C.DUPLICATED_IN_FILE, entry.kind, entry, None, f"the same as line {first}"))
        else:
            unique.append(entry)
    return unique, repeats


def compare(file: list[Entry], hub_redemptions: list[Entry], hub_orphans: list[Entry]) -> list[Outcome]:
    """Classify the file's entries (without repeats) against the other side's, already chained."""
    file_redemptions, file_orphans = chain(sorted(file, key=lambda e: e.order))
    by_code: dict[str, list[list[Entry]]] = defaultdict(lambda: [[], [], [], []])
    for i, group in enumerate((file_redemptions, hub_redemptions, file_orphans, hub_orphans)):
        for entry in group:
            by_code[entry.code][i].append(entry)
    outcomes: list[Outcome] = []
    for code in sorted(by_code):
        f_red, h_red, f_orph, h_orph = by_code[code]
        for f, h in _pair(f_red, h_red):
            outcomes += _redemption(f, h)
        for f, h in _pair(f_orph, h_orph):
            outcomes.append(_reversal(f, h))
    return outcomes


def _pair(file: list[Entry], hub: list[Entry]) -> list[tuple[Entry | None, Entry | None]]:
    """Closest first: twins (same store, day and amount) reversed alike, then any twins, then entries
    reversed alike, then the rest, each pass in time order; what is left on either side stands alone."""
    pairs: list[tuple[Entry | None, Entry | None]] = []
    rest_file, rest_hub = list(file), list(hub)
    for close in (lambda f, h: _twins(f, h) and _reversed_alike(f, h), _twins, _reversed_alike, lambda f, h: True):
        for f in list(rest_file):
            h = next((h for h in rest_hub if close(f, h)), None)
            if h is not None:
                rest_file.remove(f)
                rest_hub.remove(h)
                pairs.append((f, h))
    return pairs + [(f, None) for f in rest_file] + [(None, h) for h in rest_hub]


def _twins(f: Entry, h: Entry) -> bool:
    return _same(f, h) and f.amount_fen == h.amount_fen


def _reversed_alike(f: Entry, h: Entry) -> bool:
    return (f.reversal is None) == (h.reversal is None)


def _same(f: Entry, h: Entry) -> bool:
    return f.store_code == h.store_code and f.day == h.day


def _compare(kind: LineKind, f: Entry, h: Entry) -> Outcome:
    if not _same(f, h):
        return Outcome(C.STORE_OR_DAY_DIFFERS, kind, f, h, f"against store {h.store_code} on {h.day}")
    if f.amount_fen != h.amount_fen:
        return Outcome(C.AMOUNT_DIFFERS, kind, f, h, f"against {h.amount_fen} fen")
    return Outcome(C.MATCHED, kind, f, h)


def _redemption(f: Entry | None, h: Entry | None) -> list[Outcome]:
    """A pair of redemptions (or one alone) and the reversals that follow them."""
    if f is None and h is not None and h.reversal is not None and h.reversal.cancellation:
        return []  # cancelled in the hub the same day, so never settled: nothing to settle either way
    if f is None:
        h = present(h, "a pair has the file's redemption, the hub's or both")
        missing = [Outcome(C.MISSING_AT_PARTNER, LineKind.REDEMPTION, None, h)]
        if h.reversal is not None:  # returned after a refund: the clawback is missing too
            missing.append(Outcome(C.MISSING_AT_PARTNER, LineKind.REVERSAL, None, h.reversal))
        return missing
    if h is None:
        missing = [Outcome(C.MISSING_IN_HUB, LineKind.REDEMPTION, f, None)]
        if f.reversal is not None:
            missing.append(Outcome(C.MISSING_IN_HUB, LineKind.REVERSAL, f.reversal, None))
        return missing
    outcomes = [_compare(LineKind.REDEMPTION, f, h)]
    if f.reversal is not None or h.reversal is not None:
        outcomes.append(_reversal(f.reversal, h.reversal))
    return outcomes


def _reversal(f: Entry | None, h: Entry | None) -> Outcome:
    if f is None:
        return Outcome(C.REVERSED_ONE_SIDE_ONLY, LineKind.REVERSAL, None, h, "not reversed in the file")
    if h is None:
        return Outcome(C.REVERSED_ONE_SIDE_ONLY, LineKind.REVERSAL, f, None, "reversed in the file only")
    return _compare(LineKind.REVERSAL, f, h)
