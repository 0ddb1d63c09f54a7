-- A failure means a household in dim_household does not have the members customer_360 shows
-- for it (n_members differs from the customers carrying its household_key, or customer_360
-- names a household that dim_household lacks): household-level views (joint wealth,
-- household marketing limits) would count customers that are not there or miss some.
with households as (

    select * from {{ ref('dim_household') }}

),

customers as (

    select * from {{ ref('customer_360') }}

),

members as (

    select
        customers.household_key,
        count(*) as n_customers
    from customers
    where customers.household_key is not null
    group by customers.household_key

)

select
    coalesce(households.household_key, members.household_key) as household_key,
    households.n_members,
    members.n_customers
from households
full outer join members
    on households.household_key = members.household_key
where households.n_members is distinct from members.n_customers
