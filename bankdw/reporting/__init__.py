"""What a run tells people: the run's report (`run_report`), the terminal summary and
`bankdw status` (`terminal`), and the HTML run page (`run_page`).

The results of the checks themselves live with the checks, in `expectations/` (`results`,
`history`); this package only presents them.
"""
