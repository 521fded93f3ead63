"""Every error orders_assets raises on purpose is one family, so the command and a user's code catch one
class and print its message, and a defect (AccountingError) is told apart from a user's mistake."""
import importlib
import inspect
import pkgutil

import pytest

import orders_assets
from orders_assets.core.errors import AccountingError, InputError, OrdersAssetsError
from orders_assets.core.ingest.ingest_settings import ingest_rules_from


def project_exception_classes() -> list[type]:
    """Every exception class defined in a module of orders_assets (imported, so none is missed)."""
    found = []
    for module_info in pkgutil.walk_packages(orders_assets.__path__, "orders_assets."):
        if module_info.name == "orders_assets.glue.definitions":
            continue  # builds Definitions from the environment at import; it defines no class
        module = importlib.import_module(module_info.name)
        found += [value for value in vars(module).values()
                  if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module.__name__]
    return found


def test_every_exception_class_of_the_project_is_an_orders_assets_error():
    classes = project_exception_classes()
    assert len(classes) >= 10
    strays = [f"{cls.__module__}.{cls.__qualname__}" for cls in classes if not issubclass(cls, OrdersAssetsError)]
    assert not strays


def test_a_bad_setting_is_an_input_error_that_still_catches_as_value_error():
    with pytest.raises(InputError) as refused:
        ingest_rules_from({"layouts": [{"layout": "no_such_layout", "folder": "x"}]})
    assert isinstance(refused.value, ValueError) and "no_such_layout" in str(refused.value)


def test_a_defect_is_not_an_input_error():
    assert not issubclass(AccountingError, InputError)
