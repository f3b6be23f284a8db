"""The exchange service's client accounts: who may call it, with which key, in which role.

    [[account]]
    name = "asha"
    role = "retail"                 # retail | professional | market_maker | regulator
    key = "..."                     # the API key (X-API-Key); at least 16 characters
    cash_rupees = 100_000
    units = { "GSEC-2033" = 10 }    # bonds held at the start
    # a market maker's tier and obligations (its maker rebate is the venue's for the tier):
    tier = "gold"
    max_spread_ticks = 20
    min_size = 50

Retail and professional clients trade their own account; a market maker trades its own and
also sees its tier obligations; a regulator reads every account and trades none (it has no
ledger account at all). Without a file, `default_accounts` makes one of each role with fresh
random keys, which `bondlab serve` writes beside its journal so that a restart keeps them.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import tomllib
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.errors import ConfigurationError
from sim.market.fees import Tier


class Role(StrEnum):
    RETAIL = "retail"
    PROFESSIONAL = "professional"
    MARKET_MAKER = "market_maker"
    REGULATOR = "regulator"

    @property
    def trades(self) -> bool:
        return self is not Role.REGULATOR


class ApiAccount(BaseModel):
    """One client of the service and its starting endowment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    role: Role
    key: str = Field(min_length=16, max_length=256, repr=False)
    cash_rupees: int = Field(0, ge=0, le=10**12)
    units: dict[str, int] = Field(default_factory=dict)
    tier: Tier | None = None
    max_spread_ticks: int = Field(20, ge=1, description="market maker's obligation")
    min_size: int = Field(50, ge=1, description="market maker's obligation, units per side")

    @model_validator(mode="after")
    def _role_fits(self) -> ApiAccount:
        if self.role is Role.REGULATOR and (self.cash_rupees or self.units or self.tier):
            raise ValueError("a regulator holds no cash, units or tier")
        if self.tier is not None and self.role is not Role.MARKET_MAKER:
            raise ValueError("only a market maker has a tier")
        if any(qty < 0 for qty in self.units.values()):
            raise ValueError("units must not be negative")
        return self


class Accounts(BaseModel):
    """Every client, in the order their ledger accounts are opened (which fixes their ids)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account: tuple[ApiAccount, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Accounts:
        for field in ("name", "key"):
            values = [getattr(a, field) for a in self.account]
            if len(set(values)) != len(values):
                raise ValueError(f"two accounts share a {field}")
        return self

    def by_key(self) -> dict[str, ApiAccount]:
        return {a.key: a for a in self.account}

    def digest(self) -> str:
        """The accounts' sha256: a journal replays only into the accounts it was written for."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def to_toml(self) -> str:
        lines = []
        for a in self.account:
            lines += ["[[account]]", f'name = "{a.name}"', f'role = "{a.role.value}"']
            lines += [f'key = "{a.key}"', f"cash_rupees = {a.cash_rupees}"]
            if a.units:
                held = ", ".join(f'"{s}" = {q}' for s, q in a.units.items())
                lines.append(f"units = {{ {held} }}")
            if a.tier is not None:
                lines += [f'tier = "{a.tier.value}"', f"max_spread_ticks = {a.max_spread_ticks}"]
                lines.append(f"min_size = {a.min_size}")
            lines.append("")
        return "\n".join(lines)


def load_accounts(path: str | Path) -> Accounts:
    """Read an accounts file; a bad one is a `ConfigurationError` naming the file and field."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigurationError(f"{path}: cannot read: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"{path}: not TOML: {error}") from None
    try:
        return Accounts.model_validate(data)
    except ValidationError as error:
        problems = []
        for e in error.errors():
            where = ".".join(str(p) for p in e["loc"]) or "accounts"
            problems.append(f"{path}: {where}: {e['msg']}")
        raise ConfigurationError("; ".join(problems)) from None


def default_accounts(symbols: list[str]) -> Accounts:
    """One client of each role with fresh random keys: a retail investor and a professional
    with cash, a market maker with cash and units of every bond, and a regulator."""
    key = lambda: secrets.token_urlsafe(24)  # noqa: E731
    held = dict.fromkeys(symbols, 500)
    return Accounts(
        account=(
            ApiAccount(name="retail", role=Role.RETAIL, key=key(), cash_rupees=200_000),
            ApiAccount(name="pro", role=Role.PROFESSIONAL, key=key(), cash_rupees=5_000_000),
            ApiAccount(
                name="maker",
                role=Role.MARKET_MAKER,
                key=key(),
                cash_rupees=20_000_000,
                units=held,
                tier=Tier.GOLD,
            ),
            ApiAccount(name="regulator", role=Role.REGULATOR, key=key()),
        )
    )
