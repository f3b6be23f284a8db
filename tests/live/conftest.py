"""The live adapter's tests trade at the exchange service with the service tests' scenario and
accounts."""

from tests.service.conftest import accounts, scenario  # noqa: F401 (fixtures, by name)
