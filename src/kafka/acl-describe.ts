/** DescribeAcls through kafkajs, with Kafka's ACL wire codes turned into kreorg's names. */
import type {Admin} from './client.js'
import type {AclBinding, AclOperation, AclResource} from './types.js'

// Kafka's ACL wire codes (kafkajs's AclResourceTypes/AclOperationTypes/...), kept here so only
// client.ts imports kafkajs.
const ACL_ANY = 1
const ACL_PATTERN_MATCH = 2
const ACL_RESOURCE_CODES: Record<AclResource['type'], number> = {topic: 2, group: 3, cluster: 4}
const ACL_RESOURCE_NAMES: Record<number, AclBinding['resourceType']> = {2: 'topic', 3: 'group', 4: 'cluster'}
const ACL_OPERATION_NAMES: Record<number, AclOperation> = {
  2: 'all',
  3: 'read',
  4: 'write',
  5: 'create',
  6: 'delete',
  7: 'alter',
  8: 'describe',
  9: 'cluster_action',
  10: 'describe_configs',
  11: 'alter_configs',
  12: 'idempotent_write',
}

/** ACL bindings whose pattern matches the resource (literal, prefixed, wildcard). */
export async function describeAclsWith(admin: Admin, resource: AclResource): Promise<AclBinding[]> {
  const {resources} = await admin.describeAcls({
    resourceType: ACL_RESOURCE_CODES[resource.type],
    resourceName: resource.name,
    resourcePatternType: ACL_PATTERN_MATCH,
    operation: ACL_ANY,
    permissionType: ACL_ANY,
  })
  return resources.flatMap((r) =>
    r.acls.map((acl): AclBinding => ({
      resourceType: ACL_RESOURCE_NAMES[r.resourceType] ?? 'unknown',
      resourceName: r.resourceName,
      patternType: r.resourcePatternType === 3 ? 'literal' : r.resourcePatternType === 4 ? 'prefixed' : 'unknown',
      principal: acl.principal,
      host: acl.host,
      operation: ACL_OPERATION_NAMES[acl.operation] ?? 'unknown',
      permission: acl.permissionType === 3 ? 'allow' : acl.permissionType === 2 ? 'deny' : 'unknown',
    })),
  )
}
