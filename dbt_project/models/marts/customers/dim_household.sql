-- One row per household: individual customers the data says live together (a shared
-- normalised address or phone, or PRIMARY/JOINT holders of the same account), as connected components
-- (int_customer_households). Members: customer_360.household_key. Deposits, loans and
-- contribution by allocation weight (int_household_measures).
with households as (

    select * from {{ ref('int_customer_households') }}

),

customers as (

    select * from {{ ref('int_customer_versions') }}
    where is_current

),

bridge as (

    select * from {{ ref('int_account_holders_weighted') }}

),

measures as (

    select * from {{ ref('int_household_measures') }}

),

joint_accounts as (

    select
        households.household_key,
        count(distinct bridge.account_id) as n_joint_accounts
    from bridge
    inner join households
        on bridge.customer_key = households.customer_key
    where bridge.role = 'JOINT'
    group by households.household_key

),

final as (

    select
        households.household_key,
        count(*) as n_members,
        bool_or(households.shares_address) as shares_address,
        bool_or(households.shares_phone) as shares_phone,
        bool_or(households.holds_joint_account) as holds_joint_account,
        coalesce(any_value(joint_accounts.n_joint_accounts), 0) as n_joint_accounts,
        {{ ordered_first('customers.city', ['customers.customer_key']) }} as city,
        {{ ordered_first('customers.region', ['customers.customer_key']) }} as region,
        min(customers.onboarding_date) as first_onboarding_date,
        any_value(measures.deposit_balance) as deposit_balance,
        any_value(measures.loan_balance) as loan_balance,
        any_value(measures.contribution_12m) as contribution_12m
    from households
    inner join customers
        on households.customer_key = customers.customer_key
    left join joint_accounts
        on households.household_key = joint_accounts.household_key
    left join measures
        on households.household_key = measures.household_key
    group by households.household_key

)

select * from final
