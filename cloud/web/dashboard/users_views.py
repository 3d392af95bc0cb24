"""The admin's Users page: who may use the dashboard, add a user, remove one."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from cloud import users
from cloud.db import read_only, transaction
from cloud.schema_ops import ROLES
from cloud.web.dashboard import auth
from cloud.web.dashboard.views import _hub, bp


@bp.get("/users")
@auth.require("admin")
def users_page() -> Any:
    _, engine = _hub()
    with read_only(engine) as conn:
        listed = users.list_users(conn)
    return render_template("dashboard/users.html", users=listed, roles=ROLES)


@bp.post("/users")
@auth.require("admin")
def add_user() -> Any:
    _, engine = _hub()
    form = request.form
    with transaction(engine) as conn:
        added = users.add_user(
            conn, form.get("name", "").strip(), form.get("password", ""), form.get("role", "")
        )
    flash(f"user {added['name']} added ({added['role']})")
    return redirect(url_for("dashboard.users_page"))


@bp.post("/users/<name>/delete")
@auth.require("admin")
def delete_user(name: str) -> Any:
    _, engine = _hub()
    me = auth.current_user() or {}
    if name == me.get("name"):
        abort(409, description="you cannot remove yourself; ask another admin")
    with transaction(engine) as conn:
        if not users.delete_user(conn, name):
            abort(404, description=f"no user {name}")
    flash(f"user {name} removed")
    return redirect(url_for("dashboard.users_page"))
