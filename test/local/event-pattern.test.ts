import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventEnvelope, isInboundDetailType, validateDetail } from '../../domain/events';
import { PROJECT_ROOT, RULES } from '../../lib/definitions';
import {
  compileEventPattern,
  InvalidEventPatternError,
  matchesEventPattern,
} from '../../local/event-pattern';

// Events and patterns below are the examples of the AWS EventBridge user guide ("Content filtering
// in Amazon EventBridge event patterns", "Arrays in event patterns", "Matching null values and
// empty strings", "Comparison operators") and of the aws/event-ruler README, with the outcome
// those documents state.

const EC2_EVENT = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
  },
};

const withDetail = (detail: Record<string, unknown>) => ({
  ...EC2_EVENT,
  detail: { ...EC2_EVENT.detail, ...detail },
});

type Case = readonly [name: string, pattern: Record<string, unknown>, event: unknown, matches: boolean];

const DOCUMENTED_CASES: readonly Case[] = [
  [
    'simple matching on several fields',
    {
      'detail-type': ['EC2 Instance State-change Notification'],
      resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
      detail: { state: ['initializing', 'running'] },
    },
    EC2_EVENT,
    true,
  ],
  [
    'simple matching fails on another state',
    { detail: { state: ['initializing', 'stopped'] } },
    EC2_EVENT,
    false,
  ],
  ['prefix on time', { time: [{ prefix: '2017-10-02' }] }, EC2_EVENT, true],
  ['prefix on time, other day', { time: [{ prefix: '2017-10-03' }] }, EC2_EVENT, false],
  [
    'prefix example: autoscaling in Europe',
    { source: ['aws.autoscaling'], region: [{ prefix: 'eu-' }] },
    { source: 'aws.autoscaling', region: 'eu-west-1' },
    true,
  ],
  [
    'prefix example: autoscaling outside Europe',
    { source: ['aws.autoscaling'], region: [{ prefix: 'eu-' }] },
    { source: 'aws.autoscaling', region: 'us-east-1' },
    false,
  ],
  ['prefix only on strings', { detail: { 'c-count': [{ prefix: '5' }] } }, EC2_EVENT, false],
  [
    'prefix ignoring case',
    { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
    { detail: { service: 'EVENTBRIDGE' } },
    true,
  ],
  ['suffix', { FileName: [{ suffix: '.png' }] }, { FileName: 'photo.png' }, true],
  ['suffix, other extension', { FileName: [{ suffix: '.png' }] }, { FileName: 'photo.jpg' }, false],
  [
    'suffix ignoring case',
    { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } },
    { detail: { FileName: 'PHOTO.PNG' } },
    true,
  ],
  ['suffix on source (Ruler)', { source: [{ suffix: 'ec2' }] }, EC2_EVENT, true],
  ['equals-ignore-case (Ruler)', { source: [{ 'equals-ignore-case': 'AWS.EC2' }] }, EC2_EVENT, true],
  [
    'equals-ignore-case: Name is "Alice"',
    { Name: [{ 'equals-ignore-case': 'alice' }] },
    { Name: 'Alice' },
    true,
  ],
  [
    'equals-ignore-case does not match another name',
    { Name: [{ 'equals-ignore-case': 'alice' }] },
    { Name: 'Alicia' },
    false,
  ],
  ['anything-but a string', { detail: { state: [{ 'anything-but': 'initializing' }] } }, EC2_EVENT, true],
  ['anything-but the very string', { detail: { state: [{ 'anything-but': 'running' }] } }, EC2_EVENT, false],
  ['anything-but a number', { detail: { 'x-limit': [{ 'anything-but': 123 }] } }, EC2_EVENT, true],
  ['anything-but the very number', { detail: { 'x-limit': [{ 'anything-but': 301.8 }] } }, EC2_EVENT, false],
  [
    'anything-but a list of strings',
    { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
    EC2_EVENT,
    true,
  ],
  [
    'anything-but a list of strings holding the value',
    { detail: { state: [{ 'anything-but': ['stopped', 'running'] }] } },
    EC2_EVENT,
    false,
  ],
  [
    'anything-but a list of numbers',
    { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
    EC2_EVENT,
    true,
  ],
  [
    'anything-but a list of numbers holding the value',
    { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
    withDetail({ 'x-limit': 200 }),
    false,
  ],
  ['anything-but a prefix', { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } }, EC2_EVENT, true],
  [
    'anything-but a prefix that the value has',
    { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
    withDetail({ state: 'initializing' }),
    false,
  ],
  [
    'anything-but CloudTrail API calls',
    { 'detail-type': [{ 'anything-but': 'AWS API Call via CloudTrail' }] },
    EC2_EVENT,
    true,
  ],
  ['anything-but EC2 or S3', { source: [{ 'anything-but': ['aws.ec2', 'aws.s3'] }] }, EC2_EVENT, false],
  [
    'anything-but EC2 or S3, from Lambda',
    { source: [{ 'anything-but': ['aws.ec2', 'aws.s3'] }] },
    { source: 'aws.lambda' },
    true,
  ],
  [
    'anything-but the aws. prefix: own events pass',
    { source: [{ 'anything-but': { prefix: 'aws.' } }] },
    { source: 'com.mycompany.myapp' },
    true,
  ],
  [
    'anything-but the aws. prefix: AWS events stop',
    { source: [{ 'anything-but': { prefix: 'aws.' } }] },
    EC2_EVENT,
    false,
  ],
  [
    'anything-but a suffix',
    { FileName: [{ 'anything-but': { suffix: '.png' } }] },
    { FileName: 'notes.txt' },
    true,
  ],
  [
    'anything-but a suffix the value has',
    { FileName: [{ 'anything-but': { suffix: '.png' } }] },
    { FileName: 'photo.png' },
    false,
  ],
  [
    'anything-but ignoring case',
    { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] },
    { state: 'INITIALIZING' },
    false,
  ],
  [
    'anything-but ignoring case, other value',
    { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] },
    { state: 'running' },
    true,
  ],
  [
    'anything-but a wildcard',
    { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] },
    { FilePath: 'src/lib/util.ts' },
    false,
  ],
  [
    'anything-but a wildcard, other path',
    { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] },
    { FilePath: 'src/app/main.ts' },
    true,
  ],
  [
    'anything-but never matches an absent field',
    { detail: { missing: [{ 'anything-but': 'x' }] } },
    EC2_EVENT,
    false,
  ],
  [
    'numeric ranges on all fields',
    {
      detail: {
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ numeric: ['=', 3.018e2] }],
      },
    },
    EC2_EVENT,
    true,
  ],
  [
    'numeric range violated by one field',
    { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }], 'd-count': [{ numeric: ['<', 10] }] } },
    withDetail({ 'c-count': 6 }),
    false,
  ],
  [
    'numeric only on JSON numbers',
    { detail: { 'c-count': [{ numeric: ['>', 0] }] } },
    withDetail({ 'c-count': '5' }),
    false,
  ],
  [
    'numeric: price more than 10 and at most 20',
    { Price: [{ numeric: ['>', 10, '<=', 20] }] },
    { Price: 20 },
    true,
  ],
  [
    'cidr IPv4',
    { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } },
    { detail: { sourceIPAddress: '10.0.0.255' } },
    true,
  ],
  [
    'cidr IPv4 outside the block',
    { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } },
    { detail: { sourceIPAddress: '10.0.1.1' } },
    false,
  ],
  [
    'cidr IPv6',
    { detail: { 'source-ip': [{ cidr: '2001:db8::/32' }] } },
    { detail: { 'source-ip': '2001:db8:1::7' } },
    true,
  ],
  [
    'exists true with the field',
    { detail: { state: [{ exists: true }] } },
    {
      version: '0',
      'detail-type': 'EC2 Instance State-change Notification',
      source: 'aws.ec2',
      detail: { 'instance-id': 'i-abcd1111', state: 'pending' },
    },
    true,
  ],
  [
    'exists true without the field',
    { detail: { state: [{ exists: true }] } },
    { 'detail-type': ['EC2 Instance State-change Notification'], detail: { 'c-count': { c1: 100 } } },
    false,
  ],
  [
    'exists false without the field',
    { detail: { 'c-count': [{ exists: false }] } },
    {
      'detail-type': ['EC2 Instance State-change Notification'],
      detail: { state: ['initializing', 'running'] },
    },
    true,
  ],
  [
    'exists false when the field is not a leaf',
    { detail: { 'c-count': [{ exists: false }] } },
    { detail: { state: ['initializing', 'running'], 'c-count': { c1: 100 } } },
    true,
  ],
  ['exists false with the field', { detail: { 'c-count': [{ exists: false }] } }, EC2_EVENT, false],
  [
    'complex example combining matchers',
    {
      time: [{ prefix: '2017-10-02' }],
      detail: {
        state: [{ 'anything-but': 'initializing' }],
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ 'anything-but': [100, 200, 300] }],
        'source-ip': [{ cidr: '10.0.0.0/8' }],
      },
    },
    EC2_EVENT,
    true,
  ],
  [
    'array field: non-empty intersection',
    {
      resources: [
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
      ],
    },
    {
      resources: [
        'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      ],
    },
    true,
  ],
  [
    'array field: empty intersection',
    { resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f'] },
    { resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-00000000'] },
    false,
  ],
  [
    'empty string',
    { detail: { eventVersion: [''] } },
    { detail: { eventVersion: '', responseElements: null } },
    true,
  ],
  [
    'null',
    { detail: { responseElements: [null] } },
    { detail: { eventVersion: '', responseElements: null } },
    true,
  ],
  [
    'null does not match an empty string',
    { detail: { eventVersion: [null] } },
    { detail: { eventVersion: '', responseElements: null } },
    false,
  ],
  [
    'empty string does not match null',
    { detail: { responseElements: [''] } },
    { detail: { eventVersion: '', responseElements: null } },
    false,
  ],
  ['wildcard in a file path', { FilePath: [{ wildcard: 'dir/*.png' }] }, { FilePath: 'dir/photo.png' }, true],
  [
    'wildcard in a file path, other extension',
    { FilePath: [{ wildcard: 'dir/*.png' }] },
    { FilePath: 'dir/photo.jpg' },
    false,
  ],
  [
    'wildcard with several stars (Ruler)',
    { source: [{ wildcard: 'Simple*Service' }] },
    { source: 'SimpleQueueService' },
    true,
  ],
  [
    'wildcard on an event bus ARN',
    { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] },
    { EventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/orders' },
    true,
  ],
  ['wildcard with an escaped star', { name: [{ wildcard: 'a\\*b' }] }, { name: 'a*b' }, true],
  ['wildcard with an escaped star is literal', { name: [{ wildcard: 'a\\*b' }] }, { name: 'axxb' }, false],
  [
    '$or: source and (metricName or namespace)',
    {
      source: ['aws.cloudwatch'],
      $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
    },
    { source: 'aws.cloudwatch', namespace: 'AWS/ES' },
    true,
  ],
  [
    '$or: no alternative holds',
    {
      source: ['aws.cloudwatch'],
      $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
    },
    { source: 'aws.cloudwatch', namespace: 'AWS/RDS' },
    false,
  ],
  [
    '$or nested inside detail',
    {
      detail: {
        $or: [
          { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
          { 'd-count': [{ numeric: ['<', 10] }] },
          { 'x-limit': [{ numeric: ['=', 3.018e2] }] },
        ],
      },
    },
    withDetail({ 'c-count': 50, 'd-count': 50 }),
    true,
  ],
  [
    '$or with an And inside, nested $or',
    {
      source: ['aws.cloudwatch'],
      $or: [
        { metricName: ['CPUUtilization'] },
        {
          metricType: ['MetricType'],
          namespace: ['AWS/EC2'],
          $or: [{ metricId: [1234] }, { spaceId: [1000] }],
        },
        { scope: ['Service'] },
      ],
    },
    { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/EC2', spaceId: 1000 },
    true,
  ],
  [
    '$or with an And inside, inner $or fails',
    {
      source: ['aws.cloudwatch'],
      $or: [
        { metricName: ['CPUUtilization'] },
        {
          metricType: ['MetricType'],
          namespace: ['AWS/EC2'],
          $or: [{ metricId: [1234] }, { spaceId: [1000] }],
        },
      ],
    },
    { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/EC2', spaceId: 9 },
    false,
  ],
  [
    'objects inside arrays are matched as the parent field',
    { employees: { firstName: ['Anna'] } },
    {
      employees: [
        { firstName: 'John', lastName: 'Doe' },
        { firstName: 'Anna', lastName: 'Smith' },
        { firstName: 'Peter', lastName: 'Jones' },
      ],
    },
    true,
  ],
  [
    'multi-level arrays are crushed out',
    { employees: { firstName: ['Peter'] } },
    { employees: [[{ firstName: 'John' }, { firstName: 'Anna' }], [{ firstName: 'Peter' }]] },
    true,
  ],
  [
    'two fields never match across array elements',
    { employees: { firstName: ['Anna'], lastName: ['Jones'] } },
    {
      employees: [
        { firstName: 'John', lastName: 'Doe' },
        { firstName: 'Anna', lastName: 'Smith' },
        { firstName: 'Peter', lastName: 'Jones' },
      ],
    },
    false,
  ],
  ['numbers compare numerically in exact matches', { detail: { 'x-limit': [3.018e2] } }, EC2_EVENT, true],
  ['a number never equals its string', { detail: { 'c-count': ['5'] } }, EC2_EVENT, false],
];

describe('event-pattern matcher on the documented examples', () => {
  it.each(DOCUMENTED_CASES)('%s', (_, pattern, event, expected) => {
    // Prepare
    const matches = compileEventPattern(pattern);

    // Act
    const result = matches(event);

    // Assess
    expect(result).toBe(expected);
  });
});

describe('event-pattern validation', () => {
  it.each([
    [
      'an unknown operator',
      { source: [{ 'starts-with': 'aws.' }] },
      /source\[0\].*unknown operator "starts-with"/,
    ],
    ['a malformed numeric range', { detail: { n: [{ numeric: ['>', 'ten'] }] } }, /detail\.n\[0\].*numeric/],
    ['consecutive wildcards', { name: [{ wildcard: 'a**b' }] }, /consecutive "\*"/],
    [
      'an anything-but list mixing types',
      { n: [{ 'anything-but': ['a', 1] }] },
      /only strings or only numbers/,
    ],
    ['an empty value list', { source: [] }, /an empty list matches nothing/],
    ['a bare value instead of a list', { source: 'aws.ec2' }, /expected a list of values or a nested object/],
    ['an invalid cidr', { ip: [{ cidr: '10.0.0.0/40' }] }, /cidr "10\.0\.0\.0\/40"/],
  ])('rejects %s and names where', (_, pattern, message) => {
    // Prepare
    const compile = () => compileEventPattern(pattern);

    // Act + Assess
    expect(compile).toThrow(InvalidEventPatternError);
    expect(compile).toThrow(message);
  });
});

const FIXTURES = join(PROJECT_ROOT, 'test/local/fixtures/events');
const fixtureEvents = readdirSync(FIXTURES)
  .filter((file) => file.endsWith('.json'))
  .map((file) => ({
    file,
    event: EventEnvelope.parse(JSON.parse(readFileSync(join(FIXTURES, file), 'utf8'))),
  }));

const EXPECTED_RULES: Readonly<Record<string, readonly string[]>> = {
  'work-item-created.json': [RULES.workItemCreated.id],
  'work-item-completed.json': [RULES.workItemFinished.id],
  'work-item-cancelled.json': [RULES.workItemFinished.id],
  'agent-status-changed.json': [RULES.agentStatusChanged.id],
  'unknown-detail-type.json': [RULES.unknownDetailType.id],
  // Flowtune's own events never re-enter its inbound rules.
  'work-item-routed.json': [],
};

describe('the RULES of lib/definitions/events.ts on real fixture events', () => {
  it('has an expectation for every fixture, and every inbound fixture is a valid event', () => {
    // Prepare
    const files = fixtureEvents.map(({ file }) => file).sort();

    // Act
    const invalid = fixtureEvents.filter(
      ({ event }) =>
        isInboundDetailType(event['detail-type']) && !validateDetail(event['detail-type'], event.detail).ok,
    );

    // Assess
    expect(files).toEqual(Object.keys(EXPECTED_RULES).sort());
    expect(invalid.map(({ file }) => file)).toEqual([]);
  });

  it.each(fixtureEvents)('routes $file to exactly its rules', ({ file, event }) => {
    // Prepare
    const rules = Object.values(RULES);

    // Act
    const matched = rules.filter((rule) => matchesEventPattern(rule.pattern, event)).map((rule) => rule.id);

    // Assess
    expect(matched).toEqual(EXPECTED_RULES[file]);
  });

  it('never routes a flowtune-sourced event, whatever its detail-type', () => {
    // Prepare
    const created = fixtureEvents.find(({ file }) => file === 'work-item-created.json')?.event;
    const echoed = { ...created, source: 'flowtune' };

    // Act
    const matched = Object.values(RULES).filter((rule) => matchesEventPattern(rule.pattern, echoed));

    // Assess
    expect(created).toBeDefined();
    expect(matched).toEqual([]);
  });
});
