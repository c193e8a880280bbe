//! Country (and region, where the database has it) lookup from a
//! MaxMind-format database held in memory.

use std::net::IpAddr;
use std::path::Path;

use maxminddb::Reader;
use serde::Deserialize;

pub struct Geo {
    reader: Reader<Vec<u8>>,
}

/// Both layouts in circulation: MaxMind's GeoLite2/GeoIP2 Country
/// (`country.iso_code`) and the flat one of ip-location-db (`country_code`).
#[derive(Deserialize)]
struct Record<'a> {
    country_code: Option<&'a str>,
}

/// The region: MaxMind's City layout (`subdivisions[0].iso_code`) or
/// ip-location-db's flat one (`state1`).
#[derive(Deserialize)]
struct RegionRecord<'a> {
    #[serde(borrow)]
    subdivisions: Option<Vec<IsoCode<'a>>>,
    state1: Option<&'a str>,
}

#[derive(Deserialize)]
struct IsoOnly<'a> {
    #[serde(borrow)]
    country: Option<IsoCode<'a>>,
}

#[derive(Deserialize)]
struct IsoCode<'a> {
    iso_code: Option<&'a str>,
}

impl Geo {
    pub fn open(path: &Path) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let reader = Reader::from_source(bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Geo { reader })
    }

    /// The ISO 3166 alpha-2 code, upper case, or empty when unknown.
    pub fn country(&self, ip: IpAddr) -> String {
        if let Ok(Some(r)) = self.reader.lookup::<IsoOnly>(ip) {
            if let Some(code) = r.country.and_then(|c| c.iso_code) {
                return code.to_ascii_uppercase();
            }
        }
        match self.reader.lookup::<Record>(ip) {
            Ok(Some(Record {
                country_code: Some(c),
            })) => c.to_ascii_uppercase(),
            _ => String::new(),
        }
    }

    /// The region as the database names it (an ISO 3166-2 subdivision code
    /// like `BY`, or a name), or `None` when it has none.
    pub fn region(&self, ip: IpAddr) -> Option<String> {
        let r = self.reader.lookup::<RegionRecord>(ip).ok()??;
        r.subdivisions
            .and_then(|s| s.into_iter().next())
            .and_then(|s| s.iso_code)
            .or(r.state1)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }
}
