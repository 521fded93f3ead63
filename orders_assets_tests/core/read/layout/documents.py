"""Layout documents the layout tests share: a trades file, and the same with its security taken
from the file name."""
TRADES = {"name": "trades", "columns": {"order_id": "id", "timestamp": "ts", "security_code": "sym", "side": "side",
                                        "price": "px", "quantity": "qty"},
          "constants": {"order_type": "TRADE", "participant_id": "UNKNOWN"}}

NAMED_BY_FILE = {**TRADES, "columns": {key: value for key, value in TRADES["columns"].items()
                                        if key != "security_code"},
                 "file_name": {"pattern": r"^(?P<security_code>[A-Za-z.]+)_"}}
