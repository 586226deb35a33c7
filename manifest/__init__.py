"""The Office add-in manifest templates; shipped in the wheel as `addin_server.manifest_templates`."""
