"""Perks: the table of contents. Routes live in blueprints, logic in chalicelib/services."""

from __future__ import annotations

from chalice import Chalice

from chalicelib.api import auth, health, members

app = Chalice(app_name="perks")
app.experimental_feature_flags.update(["BLUEPRINTS"])

app.register_blueprint(auth.bp)
app.register_blueprint(health.bp)
app.register_blueprint(members.bp)
