"""Customer lifetime value: monthly retention by value tier times each customer's margin
(docs/models.md). history: the monthly rows it reads; fit: the tier parameters; predict: the
expected contribution of each customer; evaluate: the back-test's figures; store: versions on
disk, as JSON, never pickles."""
