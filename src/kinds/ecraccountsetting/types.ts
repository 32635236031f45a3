/** ECRAccountSetting: one account setting of a registry, with its value (cluster-scoped). */
import type { RegistryPartSpec, RegistryPartStatus } from '../../api/registry-part.js';
import { API_VERSION, GROUP, VERSION, type ObjectMeta } from '../../api/types.js';
import type { ResourceRef } from '../../runtime/kube.js';

export const ECR_ACCOUNT_SETTING = { kind: 'ECRAccountSetting', plural: 'ecraccountsettings' } as const;
export const ACCOUNT_SETTING_REF: ResourceRef = { group: GROUP, version: VERSION, plural: ECR_ACCOUNT_SETTING.plural };

/** The settings the Amazon ECR API Reference names today (GetAccountSetting, PutAccountSetting). */
export type AccountSettingName = 'BASIC_SCAN_TYPE_VERSION' | 'REGISTRY_POLICY_SCOPE' | 'BLOB_MOUNTING';

export interface ECRAccountSettingSpec extends RegistryPartSpec {
  /** Which setting; immutable: one object per setting per registry. */
  name: AccountSettingName;
  /** Its value, one of those the setting takes. */
  value: string;
}

/** A setting as ECR holds it. */
export interface AccountSetting {
  name: AccountSettingName;
  value: string;
}

export interface ECRAccountSettingStatus extends RegistryPartStatus {
  /** The setting and value this object put in force; deleting the object with deletionPolicy Delete puts the default back. */
  appliedSetting?: AccountSetting;
  /** The setting and value this object is about to write (recorded before the write). */
  pendingSetting?: AccountSetting;
}

export type ECRAccountSetting = {
  apiVersion: typeof API_VERSION;
  kind: 'ECRAccountSetting';
  metadata: ObjectMeta;
  spec: ECRAccountSettingSpec;
  status?: ECRAccountSettingStatus;
};
