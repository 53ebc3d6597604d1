"""Scheduled log queries that post to Slack: rules, query back ends, windows, state, notifier.

The flow of one run (:func:`logferry.alerts.engine.run`): for every rule, the windows closed
since the rule's saved ``last_end`` (aligned to the window size, ``delay`` kept back for late
logs) are queried in order; a window whose result fires the rule becomes one Slack message
(unless the rule is in its ``realert`` cooldown, which counts it as a repeat); the rule's
state advances only past windows that did not fire, were suppressed, or were sent.
"""
