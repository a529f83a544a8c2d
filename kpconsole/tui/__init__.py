"""The Textual console: every capability of the CLI at the keyboard, over the same services.

:func:`kpconsole.tui.app.run_console` opens it. Screens live one per file in ``screens/``, the
widgets they share in ``widgets/``, styles in ``.tcss`` files next to them. The console never
computes or writes anything itself: it calls :mod:`kpconsole.services` and the job machinery
(:mod:`kpconsole.jobs`), exactly as the CLI does.
"""
