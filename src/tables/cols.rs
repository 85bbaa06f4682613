//! Column builders shared by the table builders ([`super::build`], [`super::etl`]).

use polars::prelude::*;

/// A `Datetime(ns, UTC)` column from ns since the Unix epoch (null where `None`).
pub(crate) fn utc_ns(name: &str, v: Vec<Option<i64>>) -> PolarsResult<Column> {
    Ok(Series::new(name.into(), v)
        .cast(&DataType::Datetime(
            TimeUnit::Nanoseconds,
            Some(TimeZone::UTC),
        ))?
        .into())
}

/// A String column.
pub(crate) fn str_col(name: &str, v: Vec<String>) -> Column {
    Series::new(name.into(), v).into()
}

/// A column of the type polars gives `v`.
pub(crate) fn column<T, P: ?Sized>(name: &str, v: T) -> Column
where
    Series: NamedFrom<T, P>,
{
    Series::new(name.into(), v).into()
}

/// A column of `v` cast to `dtype` (e.g. an all-null or `&str` vector to its schema type).
pub(crate) fn cast_col<T, P: ?Sized>(name: &str, v: T, dtype: &DataType) -> PolarsResult<Column>
where
    Series: NamedFrom<T, P>,
{
    Ok(Series::new(name.into(), v).cast(dtype)?.into())
}
