//! JSON Schemas of the values that travel as strings: click ids, currency
//! codes, decimal amounts, times and answer codes. The OpenAPI document is
//! generated from these, so each says what the parser really accepts.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

use crate::click_id::ClickId;
use crate::codes::ErrorCode;
use crate::money::Currency;

impl JsonSchema for ClickId {
    fn schema_name() -> Cow<'static, str> {
        "ClickId".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        if generator.contract().is_serialize() {
            // as written: 30 characters of Crockford base32, lower case
            json_schema!({
                "type": "string",
                "description": "A click id as issued by the tracking link: URL-safe and self-checking.",
                "pattern": "^[0-9a-hjkmnp-tv-z]{30}$",
            })
        } else {
            // as read: any case, with the look-alikes (i, l, o) accepted
            json_schema!({
                "type": "string",
                "description": "A click id as issued by the tracking link; case-insensitive.",
                "minLength": 1,
                "maxLength": 40,
                "pattern": "^[0-9A-Za-z]+$",
            })
        }
    }
}

impl JsonSchema for Currency {
    fn schema_name() -> Cow<'static, str> {
        "Currency".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "An ISO 4217 currency code.",
            "pattern": "^[A-Za-z]{3}$",
            "examples": ["USD", "EUR"],
        })
    }
}

impl JsonSchema for ErrorCode {
    fn schema_name() -> Cow<'static, str> {
        "ErrorCode".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        json_schema!({
            "type": "string",
            "description": "The refusal's code; the setup document of an offer lists each with its meaning.",
            "enum": codes,
        })
    }
}

/// A decimal written as a JSON string (`"12.50"`, `"-3"`), never a float.
pub struct DecimalString;

impl JsonSchema for DecimalString {
    fn schema_name() -> Cow<'static, str> {
        "DecimalString".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A decimal number as a string, e.g. \"12.50\".",
            "pattern": "^-?[0-9]+(\\.[0-9]+)?$",
        })
    }
}

/// A time as the API writes it: RFC 3339 in UTC with milliseconds.
pub struct Rfc3339;

impl JsonSchema for Rfc3339 {
    fn schema_name() -> Cow<'static, str> {
        "Time".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 in UTC, e.g. 2026-11-25T05:17:21.123Z.",
        })
    }
}
