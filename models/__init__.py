"""Python analytical models on the published warehouse (churn early warning, lifetime value,
RFM): each split into features, train, score and evaluate. None yet: they come with their issues."""
