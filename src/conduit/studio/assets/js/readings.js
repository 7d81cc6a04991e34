// What a device reports, in words a person reads: "21.5 °C", "Closed", "420 ppm". The devices list
// and the device page both show values this way, and the device page charts the numeric ones.

import { formatTime, idOf } from "./dom.js";

const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

/** A number with its unit: `withUnit(21.5, "°C")` → "21.5 °C". */
function withUnit(value, unit) {
  if (typeof value !== "number" || !Number.isFinite(value)) return "—";
  return unit ? `${number.format(value)} ${unit}` : number.format(value);
}

/**
 * Event types whose data is one number over time: how to read it and its unit (for the charts and
 * the history). Pressure arrives in pascal and is shown in hectopascal, as weather reports do.
 */
export const NUMERIC = {
  temperature: { label: "Temperature", unit: "°C", read: (d) => d.value },
  humidity: { label: "Relative humidity", unit: "%", read: (d) => d.relativeHumidity },
  co2: { label: "CO2", unit: "ppm", read: (d) => d.ppm },
  pressure: { label: "Pressure", unit: "hPa", read: (d) => (typeof d.pascal === "number" ? d.pascal / 100 : null) },
  touchCount: { label: "Touch count", unit: "", read: (d) => d.total },
  objectPresentCount: { label: "Object count", unit: "", read: (d) => d.total },
  batteryStatus: { label: "Battery", unit: "%", read: (d) => d.percentage },
  networkStatus: { label: "Signal strength", unit: "%", read: (d) => d.signalStrength },
  cellularStatus: { label: "Cellular signal", unit: "%", read: (d) => d.signalStrength },
};

const STATES = {
  PRESENT: "Present",
  NOT_PRESENT: "Not present",
  MOTION_DETECTED: "Motion detected",
  NO_MOTION_DETECTED: "No motion",
  OPEN: "Open",
  CLOSED: "Closed",
  OCCUPIED: "Occupied",
  NOT_OCCUPIED: "Not occupied",
  INVALID_WIRE_CONFIGURATION: "Invalid wire configuration",
  INVALID_COEFFICIENT_CONFIGURATION: "Invalid coefficient configuration",
  TWO_WIRE: "2-wire",
  THREE_WIRE: "3-wire",
  FOUR_WIRE: "4-wire",
};

const NAMES = {
  touch: "Touch",
  objectPresent: "Object present",
  waterPresent: "Water present",
  motion: "Motion",
  contact: "Contact",
  deskOccupancy: "Desk occupancy",
  probeWireStatus: "Probe wire",
  connectionStatus: "Connection",
  ethernetStatus: "Ethernet",
  labelsChanged: "Labels changed",
};

/** The event type's name for people: "temperature" → "Temperature", "co2" → "CO2". */
export function eventName(eventType) {
  return NUMERIC[eventType]?.label ?? NAMES[eventType] ?? eventType;
}

/** The numeric value of an event's data, or null for a type that has none. */
export function numericValue(eventType, data) {
  const spec = NUMERIC[eventType];
  if (!spec || !data) return null;
  const value = spec.read(data);
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function labelChanges(data) {
  const parts = [];
  for (const [key, value] of Object.entries(data.added ?? {})) parts.push(`added ${key}=${value}`);
  for (const [key, value] of Object.entries(data.modified ?? {})) parts.push(`changed ${key}=${value}`);
  for (const key of data.removed ?? []) parts.push(`removed ${key}`);
  return parts.join(", ") || "no change";
}

/** One event's data as a short text: "21.5 °C", "Closed", "Touched 12/5/2026, 10:00:00". */
export function describeData(eventType, data) {
  if (!data) return "—";
  switch (eventType) {
    case "touch":
      return `Touched ${formatTime(data.updateTime)}`;
    case "humidity":
      return `${withUnit(data.relativeHumidity, "%")} (${withUnit(data.temperature, "°C")})`;
    case "objectPresent":
    case "waterPresent":
    case "motion":
    case "contact":
    case "deskOccupancy":
    case "probeWireStatus":
      return STATES[data.state] ?? String(data.state ?? "—");
    case "connectionStatus":
      return String(data.connection ?? "—");
    case "ethernetStatus":
      return data.ipAddress ? `IP ${data.ipAddress}` : "—";
    case "labelsChanged":
      return labelChanges(data);
    default: {
      const spec = NUMERIC[eventType];
      return spec ? withUnit(numericValue(eventType, data), spec.unit) : "—";
    }
  }
}

const DEVICE_TYPES = {
  temperature: "Temperature",
  touch: "Touch",
  proximity: "Proximity",
  humidity: "Humidity",
  proximityCounter: "Proximity counter",
  touchCounter: "Touch counter",
  waterDetector: "Water detector",
  co2: "CO2",
  motion: "Motion",
  deskOccupancy: "Desk occupancy",
  contact: "Contact",
  ccon: "Cloud Connector",
};

/** The device type's name for people: "waterDetector" → "Water detector". */
export function deviceTypeName(type) {
  return DEVICE_TYPES[type] ?? type;
}

/** What a person calls the device: its `name` label, else its id (as DT's Studio does). */
export function displayName(device) {
  return device.labels?.name || idOf(device.name);
}

/** The event's data object: `event.data[event.eventType]`, except `labelsChanged`, whose `data` is
 * the change itself (`{added, modified, removed}`), as in DT Cloud. */
export function eventData(event) {
  if (event.eventType === "labelsChanged") return event.data ?? null;
  return event.data?.[event.eventType] ?? null;
}
