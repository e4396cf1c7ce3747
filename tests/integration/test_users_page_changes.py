"""The Users page (admins): a password alone can be reset without touching the role, a role
changed, and an account removed, each saying exactly what changed (real PostgreSQL, AppTest)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest
from tests import dashboard_data as data
from tests.integration.test_dashboard_pages import dashboard

from logistream.config import Settings
from logistream.serving import users
from logistream.serving.ui import USER_KEY
from logistream.serving.users import User

__all__ = ["dashboard"]  # a fixture, used by name
SCRIPT = "from logistream.serving.screens import admin_users\nadmin_users.render()\n"


def _page() -> AppTest:
    page = AppTest.from_string(SCRIPT, default_timeout=30)
    page.session_state[USER_KEY] = User("ann", "admin")
    return page.run()


def _accounts(settings: Settings) -> dict[str, str]:
    assert settings.database_url
    with users.connect(settings.database_url) as conn:
        return {u.name: u.role for u in users.list_users(conn)}


def test_a_password_reset_keeps_the_role_and_a_removal_removes(dashboard: Settings) -> None:
    page = _page()
    assert not page.exception
    who = page.selectbox(key="change-who")
    assert who.options == ["dan", "vic"]  # not the admin herself
    who.set_value("dan").run()
    page.text_input[2].input("dan-new-password-1")
    page.button[1].click().run()
    assert [s.value for s in page.success] == ["dan: password changed."]
    assert _accounts(dashboard)["dan"] == data.ROLES["dan"]  # dispatcher, as before
    assert dashboard.database_url
    with users.connect(dashboard.database_url) as conn:
        assert users.authenticate(conn, "dan", "dan-new-password-1") == User("dan", "dispatcher")
        assert users.authenticate(conn, "dan", data.PASSWORDS["dan"]) is None

    page = _page()
    page.selectbox(key="change-who").set_value("vic").run()
    page.selectbox[2].set_value("dispatcher")
    page.button[1].click().run()
    assert [s.value for s in page.success] == ["vic: role now dispatcher."]

    page = _page()
    page.selectbox(key="change-who").set_value("vic").run()
    page.checkbox[0].check()
    page.button[1].click().run()
    assert [s.value for s in page.success] == ["vic removed."]
    assert _accounts(dashboard) == {"ann": "admin", "dan": "dispatcher"}
