"""Who is asking: the one `current_user()` seam every route that touches a user's data goes through.

Today the only authenticator is local mode (one user, loopback only); Entra ID sign-in plugs in here.
"""

from addin_server.auth.users import (
    Authenticator,
    LocalAuthenticator,
    User,
    current_user,
    init_app,
    require_user,
)

__all__ = ["Authenticator", "LocalAuthenticator", "User", "current_user", "init_app", "require_user"]
