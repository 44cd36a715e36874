// Time zones without Intl: QuickJS (the JavaScript engine apps run in) has
// no time-zone database, and Slack's users.info names a person's zone
// without its offset at other times. The zones people use most are listed
// with their standard offset and daylight-saving rule; a zone not listed
// counts as UTC (`knownZone` says which). Exported by the SDK as
// `knownZone` and `offsetMinutes`, so apps share one table.

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

const EU = "eu"; // last Sunday of March 01:00 UTC → last Sunday of October 01:00 UTC
const US = "us"; // second Sunday of March 02:00 local → first Sunday of November 02:00 local
const AU = "au"; // first Sunday of October 02:00 local → first Sunday of April 03:00 local
const NZ = "nz"; // last Sunday of September 02:00 local → first Sunday of April 03:00 local

// zone → [standard offset in minutes east of UTC, rule?]
const ZONES = {
  "UTC": [0], "Etc/UTC": [0], "GMT": [0], "Etc/GMT": [0],
  "Europe/London": [0, EU], "Europe/Dublin": [0, EU], "Europe/Lisbon": [0, EU], "Atlantic/Canary": [0, EU],
  "Atlantic/Reykjavik": [0], "Africa/Abidjan": [0], "Africa/Accra": [0], "Africa/Dakar": [0],
  "Europe/Berlin": [60, EU], "Europe/Paris": [60, EU], "Europe/Madrid": [60, EU], "Europe/Rome": [60, EU],
  "Europe/Amsterdam": [60, EU], "Europe/Brussels": [60, EU], "Europe/Vienna": [60, EU], "Europe/Zurich": [60, EU],
  "Europe/Stockholm": [60, EU], "Europe/Oslo": [60, EU], "Europe/Copenhagen": [60, EU], "Europe/Warsaw": [60, EU],
  "Europe/Prague": [60, EU], "Europe/Budapest": [60, EU], "Europe/Belgrade": [60, EU], "Europe/Zagreb": [60, EU],
  "Europe/Ljubljana": [60, EU], "Europe/Bratislava": [60, EU], "Europe/Luxembourg": [60, EU], "Europe/Monaco": [60, EU],
  "Europe/Malta": [60, EU], "Europe/Andorra": [60, EU], "Europe/Tirane": [60, EU], "Europe/Sarajevo": [60, EU],
  "Europe/Skopje": [60, EU], "Europe/Podgorica": [60, EU], "Africa/Ceuta": [60, EU],
  "Africa/Lagos": [60], "Africa/Algiers": [60], "Africa/Tunis": [60],
  "Europe/Athens": [120, EU], "Europe/Helsinki": [120, EU], "Europe/Kiev": [120, EU], "Europe/Kyiv": [120, EU],
  "Europe/Riga": [120, EU], "Europe/Tallinn": [120, EU], "Europe/Vilnius": [120, EU], "Europe/Bucharest": [120, EU],
  "Europe/Sofia": [120, EU], "Asia/Nicosia": [120, EU], "Europe/Chisinau": [120, EU],
  "Africa/Johannesburg": [120], "Africa/Harare": [120], "Africa/Maputo": [120], "Africa/Kigali": [120],
  "Europe/Kaliningrad": [120],
  "Europe/Moscow": [180], "Europe/Istanbul": [180], "Europe/Minsk": [180], "Asia/Riyadh": [180],
  "Asia/Qatar": [180], "Asia/Baghdad": [180], "Africa/Nairobi": [180], "Africa/Addis_Ababa": [180],
  "Asia/Tehran": [210], "Asia/Dubai": [240], "Asia/Baku": [240], "Asia/Tbilisi": [240], "Asia/Yerevan": [240],
  "Asia/Kabul": [270], "Asia/Karachi": [300], "Asia/Tashkent": [300], "Asia/Yekaterinburg": [300],
  "Asia/Kolkata": [330], "Asia/Calcutta": [330], "Asia/Colombo": [330], "Asia/Kathmandu": [345],
  "Asia/Dhaka": [360], "Asia/Almaty": [300], "Asia/Yangon": [390],
  "Asia/Bangkok": [420], "Asia/Jakarta": [420], "Asia/Ho_Chi_Minh": [420], "Asia/Saigon": [420],
  "Asia/Shanghai": [480], "Asia/Hong_Kong": [480], "Asia/Singapore": [480], "Asia/Taipei": [480],
  "Asia/Manila": [480], "Asia/Kuala_Lumpur": [480], "Australia/Perth": [480],
  "Asia/Tokyo": [540], "Asia/Seoul": [540],
  "Australia/Darwin": [570], "Australia/Adelaide": [570, AU], "Australia/Brisbane": [600],
  "Australia/Sydney": [600, AU], "Australia/Melbourne": [600, AU], "Australia/Canberra": [600, AU],
  "Australia/Hobart": [600, AU], "Pacific/Guam": [600], "Pacific/Port_Moresby": [600],
  "Pacific/Auckland": [720, NZ], "Pacific/Fiji": [720],
  "America/St_Johns": [-210, US], "America/Halifax": [-240, US], "Atlantic/Bermuda": [-240, US],
  "America/Puerto_Rico": [-240], "America/Santo_Domingo": [-240], "America/Caracas": [-240], "America/La_Paz": [-240],
  "America/Sao_Paulo": [-180], "America/Argentina/Buenos_Aires": [-180], "America/Buenos_Aires": [-180],
  "America/Montevideo": [-180],
  "America/New_York": [-300, US], "America/Toronto": [-300, US], "America/Detroit": [-300, US],
  "America/Indiana/Indianapolis": [-300, US], "America/Kentucky/Louisville": [-300, US], "America/Nassau": [-300, US],
  "America/Bogota": [-300], "America/Lima": [-300], "America/Panama": [-300], "America/Cancun": [-300],
  "America/Jamaica": [-300],
  "America/Chicago": [-360, US], "America/Winnipeg": [-360, US], "America/Indiana/Knox": [-360, US],
  "America/Mexico_City": [-360], "America/Guatemala": [-360], "America/Costa_Rica": [-360], "America/Regina": [-360],
  "America/Denver": [-420, US], "America/Edmonton": [-420, US], "America/Boise": [-420, US], "America/Phoenix": [-420],
  "America/Los_Angeles": [-480, US], "America/Vancouver": [-480, US], "America/Tijuana": [-480, US],
  "America/Anchorage": [-540, US], "Pacific/Honolulu": [-600],
};

/** Whether `tz` is a zone the SDK knows (else it counts as UTC). */
export const knownZone = (tz) => Object.hasOwn(ZONES, tz);

// 00:00 UTC of the nth (1-based) Sunday of `month` (1-12); n = -1: the last.
function sunday(year, month, n) {
  if (n < 0) {
    const last = new Date(Date.UTC(year, month, 0)); // the month's last day
    return last.getTime() - last.getUTCDay() * DAY;
  }
  const first = new Date(Date.UTC(year, month - 1, 1));
  return first.getTime() + (((7 - first.getUTCDay()) % 7) + (n - 1) * 7) * DAY;
}

function daylight(rule, std, ms) {
  const year = new Date(ms + std * 60000).getUTCFullYear();
  const local = (day, hour, offset) => day + hour * HOUR - offset * 60000;
  switch (rule) {
    case EU:
      return ms >= sunday(year, 3, -1) + HOUR && ms < sunday(year, 10, -1) + HOUR;
    case US:
      return ms >= local(sunday(year, 3, 2), 2, std) && ms < local(sunday(year, 11, 1), 2, std + 60);
    case AU:
      return !(ms >= local(sunday(year, 4, 1), 3, std + 60) && ms < local(sunday(year, 10, 1), 2, std));
    case NZ:
      return !(ms >= local(sunday(year, 4, 1), 3, std + 60) && ms < local(sunday(year, 9, -1), 2, std));
    default:
      return false;
  }
}

/** Minutes east of UTC in `tz` at `ms` (0 for a zone not listed). */
export function offsetMinutes(tz, ms) {
  const zone = ZONES[tz];
  if (!zone) return 0;
  const [std, rule] = zone;
  return rule && daylight(rule, std, ms) ? std + 60 : std;
}
