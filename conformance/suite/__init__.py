"""The conformance tests themselves, one module per requirement area. Run them with
``notify-conformance run`` or with pytest and the plugin's ``--notify-*`` options."""
