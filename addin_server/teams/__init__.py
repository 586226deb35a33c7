"""Teams: a bot-based message extension on `POST /api/messages`, served by the same server as the task pane.

`connector_auth.py` checks that a request comes from the Bot Framework connector, `activities.py` reads the
activity and who sent it, `message_extension.py` answers the invokes (search, dialog, submit) at once, `cards.py`
builds the Adaptive Cards, `replies.py` answers a plain chat message, and `routes.py` serves the endpoint and
the dialog page. Activity and card models come from the Teams SDK (`microsoft-teams-api`/`-cards`).
"""
