"""Operators — domain: the office and technical staff accounts of /admin."""

from __future__ import annotations

import re

from app.security import hash_secret_async
from app.tables.auth import Operator

USERNAME = re.compile(r"^[a-z0-9._-]{2,50}$")


class OperatorError(ValueError):
    """Input that cannot make an operator."""


async def create_operator(username: str, password: str, name: str = "") -> int:
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise OperatorError("Login: 2–50 znaków, małe litery, cyfry, kropka, myślnik, podkreślnik.")
    if len(password) < 8:
        raise OperatorError("Hasło musi mieć co najmniej 8 znaków.")
    if await Operator.exists().where(Operator.username == username):
        raise OperatorError(f"Operator {username} już istnieje.")
    rows = await Operator.insert(Operator(username=username, name=name or username,
                                          password_hash=await hash_secret_async(password))
                                 ).returning(Operator.id)
    return rows[0]["id"]


async def header(operator_id: int) -> dict | None:
    """Who is logged in, for the admin header: id, username and name."""
    return await Operator.select(Operator.id, Operator.username, Operator.name).where(
        Operator.id == operator_id).first()
