from typing import Any


def handler(event: Any, context: Any) -> Any:
    return event
