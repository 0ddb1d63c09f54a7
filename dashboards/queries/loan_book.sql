-- The loan book by month end and classification: loans, principal, provisions, write-offs.
select
    l.month_start,
    l.classification,
    l.classification in ('SUBSTANDARD', 'DOUBTFUL', 'LOSS') as is_non_performing,
    count(*)::integer as loans,
    sum(l.outstanding_principal) as outstanding_principal,
    sum(l.required_provision) as required_provision,
    sum(l.write_off) as write_off,
    sum(l.credit_cost) as credit_cost
from marts.fct_loan_book_monthly as l
group by l.month_start, l.classification
