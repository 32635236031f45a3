import { describe, expect, it } from 'vitest';
import { queryError, trustPolicyFromGetRole } from '../../e2e/env/aws-proxy.js';

const ROLE = 'arn:aws:iam::123456789012:role/team-ecr';
const POLICY = {
  Version: '2012-10-17',
  Statement: [{
    Effect: 'Allow',
    Principal: { Federated: 'arn:aws:iam::123456789012:oidc-provider/oidc.example/id/A & B' },
    Action: 'sts:AssumeRoleWithWebIdentity',
    Condition: { StringEquals: { 'oidc.example/id/A & B:sub': 'system:serviceaccount:team-a:ecr-access' } },
  }],
};

/** GetRole's answer as IAM (and moto) send it: the document URL-encoded, then XML-escaped. */
function getRole(arn: string, document: string): string {
  const xml = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetRoleResult><Role><Path>/</Path><RoleName>team-ecr</RoleName><Arn>${xml(arn)}</Arn><AssumeRolePolicyDocument>${xml(document)}</AssumeRolePolicyDocument></Role></GetRoleResult></GetRoleResponse>`;
}

describe("the AWS layer's query protocol", () => {
  it("renders an error as STS's XML ErrorResponse, Sender for 4xx and Receiver for 5xx", () => {
    const denied = queryError(403, 'AccessDenied', 'Not authorized to perform sts:AssumeRoleWithWebIdentity <&>', 'req-1');
    expect(denied.headers).toMatchObject({ 'content-type': 'text/xml', 'x-amzn-requestid': 'req-1' });
    expect(denied.body).toBe('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code>'
      + '<Message>Not authorized to perform sts:AssumeRoleWithWebIdentity &lt;&amp;&gt;</Message></Error><RequestId>req-1</RequestId></ErrorResponse>');
    expect(queryError(500, 'InternalFailure', 'x').body).toContain('<Type>Receiver</Type>');
  });

  it("reads a role's trust policy from GetRole's URL-encoded document", () => {
    expect(trustPolicyFromGetRole(getRole(ROLE, encodeURIComponent(JSON.stringify(POLICY))), ROLE)).toEqual({ Statement: POLICY.Statement });
    // One statement as an object, not a list, as IAM also accepts it.
    const single = { ...POLICY, Statement: POLICY.Statement[0] };
    expect(trustPolicyFromGetRole(getRole(ROLE, encodeURIComponent(JSON.stringify(single))), ROLE)).toEqual({ Statement: POLICY.Statement });
  });

  it('finds no trust policy for an answer about another role, or a document that does not parse', () => {
    const document = encodeURIComponent(JSON.stringify(POLICY));
    expect(trustPolicyFromGetRole(getRole('arn:aws:iam::123456789012:role/other', document), ROLE)).toBeUndefined();
    expect(trustPolicyFromGetRole(getRole(ROLE, '%7Bnot-json'), ROLE)).toBeUndefined();
    expect(trustPolicyFromGetRole('<ErrorResponse><Error><Code>NoSuchEntity</Code></Error></ErrorResponse>', ROLE)).toBeUndefined();
  });
});
