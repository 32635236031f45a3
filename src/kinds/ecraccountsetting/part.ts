import type { PartKind } from '../../reconcilers/registry-part.js';
import type { RegistryGateway } from '../../aws/registry.js';
import { ACCOUNT_SETTING_REF, ECR_ACCOUNT_SETTING, type AccountSetting, type AccountSettingName, type ECRAccountSetting } from './types.js';
import { ACCOUNT_SETTING_NAMES, ACCOUNT_SETTINGS, isUnset, validateAccountSettingSpec } from './validation.js';

/**
 * An ECRAccountSetting's part of its registry: one account setting, named by its setting name.
 * The document is every setting the registry has, each read with GetAccountSetting; a write puts
 * only the settings whose value differs from what was read, so that a write never puts back a value
 * someone else changed in the meantime. A setting always has a value: one at its default (or at a
 * value only older registries hold) counts as set by nobody, like an unconfigured scanning
 * configuration, and anyone may take its place; any other value was set by someone and is taken
 * over only by the object that set it or with the adopt annotation. Deleting with deletionPolicy
 * Delete puts the default back.
 */

export interface AccountSettingsDocument {
  /** The settings as they are to be. */
  values: Partial<Record<AccountSettingName, string>>;
  /** The settings as read from AWS: a write puts only what differs from these. */
  read: Partial<Record<AccountSettingName, string>>;
}

async function readSettings(gateway: RegistryGateway): Promise<AccountSettingsDocument> {
  const values: Partial<Record<AccountSettingName, string>> = {};
  const answers = await Promise.all(ACCOUNT_SETTING_NAMES.map(async (name) => [name, await gateway.accountSetting(name)] as const));
  for (const [name, value] of answers) if (value !== undefined) values[name] = value;
  return { values, read: { ...values } };
}

async function writeSettings(gateway: RegistryGateway, doc: AccountSettingsDocument): Promise<void> {
  for (const name of ACCOUNT_SETTING_NAMES) {
    const value = doc.values[name];
    if (value !== undefined && value !== doc.read[name]) await gateway.putAccountSetting(name, value);
  }
}

function withValue(doc: AccountSettingsDocument, name: AccountSettingName, value: string): AccountSettingsDocument {
  return { values: { ...doc.values, [name]: value }, read: doc.read };
}

export const accountSettingPart: PartKind<ECRAccountSetting, AccountSettingsDocument, AccountSetting> = {
  name: 'ecraccountsetting',
  kind: ECR_ACCOUNT_SETTING.kind,
  ref: ACCOUNT_SETTING_REF,
  document: 'account-settings',
  home: "the registry's account settings",
  desired: (obj) => {
    const problem = validateAccountSettingSpec(obj.spec);
    return problem ? { problem } : { part: { name: obj.spec.name, value: obj.spec.value } };
  },
  applied: (obj) => obj.status?.appliedSetting,
  pending: (obj) => obj.status?.pendingSetting,
  partStatus: (applied, pending) => ({ appliedSetting: applied, pendingSetting: pending }),
  documentStatus: () => ({}),
  identity: (setting) => setting.name,
  same: (a, b) => a.name === b.name && a.value === b.value,
  find: (doc, name) => {
    const value = doc.values[name as AccountSettingName];
    return value === undefined ? undefined : { name: name as AccountSettingName, value };
  },
  // A setting at its default was set by nobody: anyone may take its place.
  unclaimed: isUnset,
  put: (doc, setting, previous) => {
    const next = withValue(doc, setting.name, setting.value);
    return { doc: previous && previous.name !== setting.name ? withValue(next, previous.name, ACCOUNT_SETTINGS[previous.name].default) : next };
  },
  remove: (doc, setting) => withValue(doc, setting.name, ACCOUNT_SETTINGS[setting.name].default),
  equal: (a, b) => ACCOUNT_SETTING_NAMES.every((name) => a.values[name] === b.values[name]),
  read: readSettings,
  write: writeSettings,
  describe: (setting) => `the account setting ${setting.name}=${setting.value}`,
};
