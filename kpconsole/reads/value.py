"""Customer-value fits as a person reads them: list them, show one.

With a user, :func:`show` adds that customer's scores from the fit's per-customer Parquet
(:func:`kpconsole.services.value_customers.customer`), loaded then.
"""

from __future__ import annotations

from dataclasses import dataclass

from kpconsole.session import Session
from store import value as store
from store.value import ValueFitRecord


def list_fits(session: Session, data: str | None = None) -> list[ValueFitRecord]:
    """Registered value fits, newest first (optionally only those of dataset ``data``)."""
    return store.list_value_fits(session.ws, dataset=data)


@dataclass(frozen=True)
class ValueView:
    record: ValueFitRecord
    customer: dict | None = None

    def as_dict(self) -> dict:
        return {**self.record.as_dict(), "customer": self.customer}


def show(session: Session, fit_id: int, user: str | None = None) -> ValueView:
    """A fit; with ``user``, that customer's summary and scores (P(alive), expected purchases, CLV)."""
    record = store.get_value_fit(session.ws, fit_id)
    if user is None:
        return ValueView(record)
    from kpconsole.services.value_customers import customer  # reads Parquet: Polars

    return ValueView(record, customer(record, user))
