"""TradingBot: stock quotes, orders, a watch list and an account (BFCL's ``trading_bot.json``).

Behaves as BFCL's class does (observed): the clock is fixed at 2024-09-01 10:30; transaction timestamps are
drawn from a seeded generator (seed 1053520 unless the scenario gives ``random_seed``) within the next day;
long-context mode pads quotes, order details, the watch list, sector lists and the transaction history with
BFCL's filler. State compared: ``orders``, ``account_info``, ``authenticated``, ``market_status``,
``order_counter``, ``stocks``, ``watch_list``, ``transaction_history``, ``long_context``.
"""

from __future__ import annotations

import copy
import random
from datetime import datetime, timedelta
from typing import Any

from ._base import LimitError, SimulatedAPI, long_context_data

__all__ = ["TradingBot"]

MAX_ORDERS = 10_000
MAX_HISTORY = 10_000
NOW = datetime(2024, 9, 1, 10, 30)

_STOCKS = {
    "AAPL": (227.16, 0.17, 2.552, 227.11, 227.09),
    "GOOG": (2840.34, 0.24, 1.123, 2835.67, 2842.15),
    "TSLA": (667.92, -0.12, 1.654, 671.15, 668.2),
    "MSFT": (310.23, 0.09, 3.234, 309.88, 310.11),
    "NVDA": (220.34, 0.34, 1.234, 220.45, 220.67),
    "ALPH": (1320.45, -0.08, 1.567, 1321.12, 1325.78),
    "OMEG": (457.23, 0.12, 2.345, 456.78, 458.12),
    "QUAS": (725.89, -0.03, 1.789, 726.45, 728.0),
    "NEPT": (88.34, 0.19, 0.654, 88.21, 88.67),
    "SYNX": (345.67, 0.11, 2.112, 345.34, 346.12),
    "ZETA": (22.09, -0.05, 0.789, 22.12, 22.34),
}
_DEFAULTS = {
    "orders": {
        12345: {
            "id": 12345,
            "order_type": "Buy",
            "symbol": "AAPL",
            "price": 210.65,
            "amount": 10,
            "status": "Completed",
        },
        12446: {
            "id": 12446,
            "order_type": "Sell",
            "symbol": "GOOG",
            "price": 2840.56,
            "amount": 5,
            "status": "Pending",
        },
    },
    "account_info": {"account_id": 12345, "balance": 10000.0, "binding_card": 1974202140965533},
    "authenticated": False,
    "market_status": "Closed",
    "order_counter": 12446,
    "stocks": {
        s: dict(zip(("price", "percent_change", "volume", "MA(5)", "MA(20)"), v, strict=False))
        for s, v in _STOCKS.items()
    },
    "watch_list": ["NVDA"],
    "transaction_history": [],
    "random_seed": 1053520,
}
_SYMBOLS = {
    "Apple": "AAPL",
    "Google": "GOOG",
    "Tesla": "TSLA",
    "Microsoft": "MSFT",
    "Nvidia": "NVDA",
    "Zeta Corp": "ZETA",
    "Alpha Tech": "ALPH",
    "Omega Industries": "OMEG",
    "Quasar Ltd.": "QUAS",
    "Neptune Systems": "NEPT",
    "Synex Solutions": "SYNX",
    "Amazon": "AMZN",
    "Gorilla": "GORI",
}
_SECTORS = {"Technology": ["AAPL", "GOOG", "MSFT", "NVDA"], "Automobile": ["TSLA", "F", "GM"]}


def _need_login(what: str) -> dict:
    return {"error": f"User not authenticated. Please log in to {what}."}


class TradingBot(SimulatedAPI):
    """See the module docs."""

    # state, set from the scenario by _load_scenario
    orders: dict[int, dict[str, Any]]
    account_info: dict[str, Any]
    authenticated: bool
    market_status: str
    order_counter: int
    stocks: dict[str, dict[str, Any]]
    watch_list: list[str]
    transaction_history: list[dict[str, Any]]

    def _load_scenario(self, scenario: dict, long_context: bool = False) -> None:
        d = copy.deepcopy(_DEFAULTS)
        orders = scenario.get("orders", d["orders"])
        self.orders = {int(k) if isinstance(k, str) and k.isdigit() else k: v for k, v in orders.items()}
        for key in (
            "account_info",
            "authenticated",
            "market_status",
            "order_counter",
            "stocks",
            "watch_list",
            "transaction_history",
        ):
            setattr(self, key, scenario.get(key, d[key]))
        self.long_context = long_context
        self._random = random.Random(scenario.get("random_seed", d["random_seed"]))

    def _timestamp(self) -> str:
        # a uniform second within [NOW, NOW + 1 day], as BFCL draws it
        return (NOW + timedelta(seconds=self._random.randint(0, 86400))).strftime("%Y-%m-%d %H:%M:%S")

    def _record(self, kind: str, amount) -> None:
        if len(self.transaction_history) >= MAX_HISTORY:
            raise LimitError(f"too many transactions ({MAX_HISTORY})")
        self.transaction_history.append({"type": kind, "amount": amount, "timestamp": self._timestamp()})

    def get_current_time(self):
        return {"current_time": NOW.strftime("%I:%M %p")}

    def get_symbol_by_name(self, name: str):
        return {"symbol": _SYMBOLS.get(name, "Stock not found")}

    def get_stock_info(self, symbol: str):
        if symbol not in self.stocks:
            return {"error": f"Stock with symbol '{symbol}' not found."}
        if self.long_context:
            lc = long_context_data()
            return {**self.stocks[symbol], "MA(5)": lc["MA_5_EXTENSION"], "MA(20)": lc["MA_20_EXTENSION"]}
        return self.stocks[symbol]

    def get_order_details(self, order_id: int):
        if order_id not in self.orders:
            return {
                "error": f"Order with ID {order_id} not found.Here is the list of orders_id: {list(self.orders.keys())}"
            }
        if not self.long_context:
            return self.orders[order_id]
        order = dict(self.orders[order_id])
        meta = {}
        for key, template in long_context_data()["ORDER_DETAIL_EXTENSION"].items():
            try:
                meta[key] = template.format(symbol=order["symbol"])
            except KeyError as e:
                return {"error": f"KeyError during formatting: {e}"}
        order["metadata"] = meta
        return order

    def cancel_order(self, order_id: int):
        if order_id not in self.orders:
            return {"error": f"Order with ID {order_id} not found."}
        if self.orders[order_id]["status"] == "Completed":
            return {"error": f"Can't cancel order {order_id}. Order is already completed."}
        self.orders[order_id]["status"] = "Cancelled"
        return {"order_id": order_id, "status": "Cancelled"}

    def place_order(self, order_type: str, symbol: str, price: float, amount: int):
        if not self.authenticated:
            return _need_login("place an order")
        if symbol not in self.stocks:
            return {"error": f"Invalid stock symbol: {symbol}"}
        if price <= 0 or amount <= 0:
            return {"error": "Price and amount must be positive values."}
        if order_type.lower() == "buy":
            cost = float(price) * int(amount)
            balance = self.account_info.get("balance", 0)
            if cost > balance:
                return {"error": f"Insufficient funds: required ${cost:.2f} but only ${balance:.2f} available."}
        if len(self.orders) >= MAX_ORDERS:
            raise LimitError(f"too many orders ({MAX_ORDERS})")
        price = float(price)
        oid = self.order_counter
        self.orders[oid] = {
            "id": oid,
            "order_type": order_type,
            "symbol": symbol,
            "price": price,
            "amount": amount,
            "status": "Open",
        }
        self.order_counter += 1
        return {"order_id": oid, "order_type": order_type, "status": "Pending", "price": price, "amount": amount}

    def withdraw_funds(self, amount: float):
        if not self.authenticated:
            return _need_login("make a transaction")
        if self.market_status != "Open":
            return {"error": "Market is closed. Transactions are not allowed."}
        if amount <= 0:
            return {"error": "Transaction amount must be positive."}
        if amount > self.account_info["balance"]:
            return {"error": "Insufficient funds for withdrawal."}
        self.account_info["balance"] -= amount
        self._record("withdrawal", amount)
        return {"status": "Withdrawal successful", "new_balance": self.account_info["balance"]}

    def get_account_info(self):
        if not self.authenticated:
            return _need_login("view account information")
        return self.account_info

    def trading_login(self, username: str, password: str):
        if self.authenticated:
            return {"status": "Already logged in"}
        self.authenticated = True
        return {"status": "Logged in successfully"}

    def trading_get_login_status(self):
        return {"status": bool(self.authenticated)}

    def trading_logout(self):
        if not self.authenticated:
            return {"status": "No user is currently logged in"}
        self.authenticated = False
        return {"status": "Logged out successfully"}

    def fund_account(self, amount: float):
        if not self.authenticated:
            return _need_login("fund the account")
        if amount <= 0:
            return {"error": "Funding amount must be positive."}
        self.account_info["balance"] += amount
        self._record("deposit", amount)
        return {"status": "Account funded successfully", "new_balance": self.account_info["balance"]}

    def remove_stock_from_watchlist(self, symbol: str):
        if not self.authenticated:
            return _need_login("modify the watchlist")
        if symbol not in self.watch_list:
            return {"error": f"Stock {symbol} not found in watchlist."}
        self.watch_list.remove(symbol)
        return {"status": f"Stock {symbol} removed from watchlist successfully."}

    def get_watchlist(self):
        if not self.authenticated:
            return ["Error: User not authenticated. Please log in to view the watchlist."]
        if self.long_context:
            return self.watch_list + long_context_data()["WATCH_LIST_EXTENSION"]
        return {"watchlist": self.watch_list}

    def get_order_history(self):
        if not self.authenticated:
            return [_need_login("view order history")]
        return {"history": list(self.orders.keys())}

    def get_transaction_history(self, start_date: str | None = None, end_date: str | None = None):
        if not self.authenticated:
            return [_need_login("view transaction history")]
        lo = datetime.strptime(start_date, "%Y-%m-%d") if start_date else datetime.min
        hi = datetime.strptime(end_date, "%Y-%m-%d") if end_date else datetime.max
        rows = [
            t for t in self.transaction_history if lo <= datetime.strptime(t["timestamp"], "%Y-%m-%d %H:%M:%S") <= hi
        ]
        if self.long_context:
            rows.extend(long_context_data()["TRANSACTION_HISTORY_EXTENSION"])
        return {"transaction_history": rows}

    def get_available_stocks(self, sector: str):
        sectors = {k: list(v) for k, v in _SECTORS.items()}
        if self.long_context:
            lc = long_context_data()
            sectors["Technology"].extend(lc["TECHNOLOGY_EXTENSION"])
            sectors["Automobile"].extend(lc["AUTOMOBILE_EXTENSION"])
        return {"stock_list": sectors.get(sector, [])}

    def filter_stocks_by_price(self, stocks: list, min_price: float, max_price: float):
        def price(s):
            return self.stocks.get(s, {}).get("price", 0)

        return {"filtered_stocks": [s for s in stocks if price(s) >= min_price and price(s) <= max_price]}

    def add_to_watchlist(self, stock: str):
        if stock not in self.watch_list and stock in self.stocks:
            self.watch_list.append(stock)
        return {"watchlist": self.watch_list}

    def notify_price_change(self, stocks: list, threshold: float):
        moved = [s for s in stocks if s in self.stocks and abs(self.stocks[s]["percent_change"]) >= threshold]
        if moved:
            return {"notification": f"Stocks {', '.join(moved)} have significant price changes."}
        return {"notification": "No significant price changes in the selected stocks."}
