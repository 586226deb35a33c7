"""Microsoft 365 Copilot: a declarative agent whose one action is an API plugin that draws pictures here.

`api.py` is what the plugin calls (`/api/copilot/images`, answered within Copilot's round trip or with a job
id to ask again), `fields.py` its request fields, `package.py` the agent, plugin and OpenAPI files for the app
package, and `openapi_subset.py` the rules Copilot's OpenAPI reader sets, checked on that file.
"""
