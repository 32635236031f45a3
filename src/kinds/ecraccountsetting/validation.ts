import type { AccountSetting, AccountSettingName, ECRAccountSettingSpec } from './types.js';

/**
 * The account settings of an Amazon ECR registry, as the API Reference lists them today
 * (PutAccountSetting: "Valid value for basic scan type: AWS_NATIVE. Valid values for registry policy
 * scope: V2. Valid values for blob mounting: ENABLED or DISABLED."), each with:
 * - `values`: what PutAccountSetting takes;
 * - `default`: what a registry has until someone sets it, and what deletionPolicy Delete puts
 *   back: basic scanning with AWS native technology; the V2 registry policy scope ("The V2 version
 *   is the default registry policy scope", User Guide, "Private registry permissions"); blob
 *   mounting off until enabled (User Guide, "Blob mounting in Amazon ECR");
 * - `legacy`: values a registry may still read from before today's API (CLAIR basic scanning, the
 *   V1 policy scope, the defaults of older registries) that PutAccountSetting no longer takes. Nobody
 *   can have set them through today's API, so like the default they count as "nobody set it".
 */
export const ACCOUNT_SETTINGS: Readonly<Record<AccountSettingName, { values: readonly string[]; default: string; legacy: readonly string[] }>> = {
  BASIC_SCAN_TYPE_VERSION: { values: ['AWS_NATIVE'], default: 'AWS_NATIVE', legacy: ['CLAIR'] },
  REGISTRY_POLICY_SCOPE: { values: ['V2'], default: 'V2', legacy: ['V1'] },
  BLOB_MOUNTING: { values: ['ENABLED', 'DISABLED'], default: 'DISABLED', legacy: [] },
};

export const ACCOUNT_SETTING_NAMES = Object.keys(ACCOUNT_SETTINGS) as AccountSettingName[];

export function isAccountSettingName(name: unknown): name is AccountSettingName {
  return typeof name === 'string' && Object.hasOwn(ACCOUNT_SETTINGS, name);
}

/** Whether a live value is one nobody set: the setting's default or a value only an older registry holds. */
export function isUnset(setting: AccountSetting): boolean {
  const known = ACCOUNT_SETTINGS[setting.name];
  return setting.value === known.default || known.legacy.includes(setting.value);
}

/** Why the spec cannot be put, or undefined when it can. */
export function validateAccountSettingSpec(spec: ECRAccountSettingSpec): string | undefined {
  if (!isAccountSettingName(spec.name)) {
    return `spec.name: ${JSON.stringify(String(spec.name ?? '').slice(0, 100))} is not an ECR account setting (one of ${ACCOUNT_SETTING_NAMES.join(', ')})`;
  }
  const allowed = ACCOUNT_SETTINGS[spec.name].values;
  if (typeof spec.value !== 'string' || !allowed.includes(spec.value)) {
    return `spec.value: ${JSON.stringify(String(spec.value ?? '').slice(0, 100))} is not a value of ${spec.name} (allowed: ${allowed.join(', ')})`;
  }
  return undefined;
}
