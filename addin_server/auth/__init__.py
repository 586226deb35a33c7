"""Who is asking: the one `current_user()` seam every route that touches a user's data goes through.

Local mode (one user, loopback only) or Entra ID tokens (`entra.py`); `on_behalf_of.py` acts for the user on
Microsoft Graph and `dialog.py` is the sign-in dialog for when Office SSO is unavailable.
"""

from addin_server.auth.users import (
    Authenticator,
    LocalAuthenticator,
    User,
    authenticator_for,
    current_user,
    require_user,
)

__all__ = ["Authenticator", "LocalAuthenticator", "User", "authenticator_for", "current_user", "require_user"]
