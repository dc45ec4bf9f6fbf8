// @vitest-environment node
// The dashboard's wire types against the service's OpenAPI document (openapi.json beside this file,
// which a .NET test keeps equal to the live document). A field the C# wire models gain, lose, rename
// or make nullable fails here until wireTypes.ts says the same.
import ts from 'typescript';

type Schema = {
  type?: string | string[];
  $ref?: string;
  items?: Schema;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema;
  required?: string[];
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
};

// Each C# wire model and the TypeScript interface that mirrors it.
const interfaceOf: Record<string, string> = {
  LlmApmInfo: 'WireInfo',
  LlmApmChatInfo: 'WireChatInfo',
  LlmApmHistoryStatus: 'WireHistoryStatus',
  LlmApmSummary: 'WireSummary',
  LlmApmWireModelSummary: 'WireModelSummary',
  LlmApmWireLatency: 'WireLatency',
  LlmApmWireTokenTotals: 'WireTokenTotals',
  LlmApmRequestPage: 'WireRequestPage',
  LlmApmWireRequest: 'WireRequestRecord',
  LlmApmWireTokens: 'WireRequestTokens',
  LlmApmWireStep: 'WireStep',
  LlmApmWireContent: 'WireContent',
  LlmApmTimeSeries: 'WireTimeseries',
  LlmApmWireBucket: 'WireBucket',
  LlmApmWireSlowest: 'WireSlowest',
  LlmApmWireScore: 'WireScore',
  LlmApmWirePrices: 'WirePrices',
  LlmApmWirePriceFile: 'WirePriceFile',
  LlmApmWirePrice: 'WirePrice',
  LlmApmWirePriceTier: 'WirePriceTier',
  LlmApmFeedback: 'WireFeedback',
  LlmApmFeedbackRow: 'WireFeedbackRow',
  LlmApmSpend: 'WireSpend',
  LlmApmWireSpendRow: 'WireSpendRow',
  LlmApmBudgets: 'WireBudgets',
  LlmApmWireBudget: 'WireBudget',
  LlmApmReplicas: 'WireReplicas',
  LlmApmWireReplica: 'WireReplica',
  ProblemDetails: 'WireProblem',
};

// Members an interface has beyond its schema: the problem details' extensions (docs/api.md), which the
// document's standard ProblemDetails schema does not list.
const extensionsOf: Record<string, string[]> = {
  WireProblem: ['requestId', 'traceId', 'errorType'],
};

const directory = ts.sys.resolvePath(`${ts.sys.getCurrentDirectory()}/src/api`);

function read(name: string): string {
  const text = ts.sys.readFile(`${directory}/${name}`);
  if (text === undefined) throw new Error(`${directory}/${name} cannot be read`);
  return text;
}

const document = JSON.parse(read('openapi.json')) as { components: { schemas: Record<string, Schema> } };
const schemas = document.components.schemas;
const source = ts.createSourceFile('wireTypes.ts', read('wireTypes.ts'), ts.ScriptTarget.Latest, true);

const interfaces = new Map<string, ts.InterfaceDeclaration>();
const aliases = new Map<string, ts.TypeAliasDeclaration>();
source.forEachChild((node) => {
  if (ts.isInterfaceDeclaration(node)) interfaces.set(node.name.text, node);
  if (ts.isTypeAliasDeclaration(node)) aliases.set(node.name.text, node);
});

interface Member {
  optional: boolean;
  type: ts.TypeNode;
}

/** The members of an interface, those of the interfaces it extends included; index signatures left out. */
function membersOf(name: string): Map<string, Member> {
  const declaration = interfaces.get(name);
  if (!declaration) throw new Error(`wireTypes.ts has no interface ${name}`);
  const members = new Map<string, Member>();
  for (const clause of declaration.heritageClauses ?? []) {
    for (const base of clause.types) {
      for (const [key, member] of membersOf(base.expression.getText(source))) members.set(key, member);
    }
  }
  for (const member of declaration.members) {
    if (ts.isPropertySignature(member) && member.type) {
      members.set(member.name.getText(source), { optional: member.questionToken !== undefined, type: member.type });
    }
  }
  return members;
}

function schemaTypes(schema: Schema): string[] {
  if (schema.$ref) return ['ref'];
  const variants = schema.oneOf ?? schema.anyOf ?? schema.allOf;
  if (variants) return variants.flatMap(schemaTypes);
  return Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
}

function refName(schema: Schema): string | undefined {
  const ref = schema.$ref ?? (schema.oneOf ?? schema.anyOf ?? schema.allOf)?.find((s) => s.$ref)?.$ref;
  return ref?.slice(ref.lastIndexOf('/') + 1);
}

/** The union members of a TypeScript type, `null` as the keyword. */
function unionOf(type: ts.TypeNode): ts.TypeNode[] {
  if (ts.isUnionTypeNode(type)) return type.types.flatMap(unionOf);
  if (ts.isParenthesizedTypeNode(type)) return unionOf(type.type);
  if (ts.isTypeReferenceNode(type) && aliases.has(type.typeName.getText(source))) {
    return unionOf(aliases.get(type.typeName.getText(source))!.type);
  }
  return [type];
}

const isNull = (t: ts.TypeNode) => ts.isLiteralTypeNode(t) && t.literal.kind === ts.SyntaxKind.NullKeyword;

/** What is wrong with a TypeScript member's type for a schema property, or nothing. */
function mismatch(schema: Schema, type: ts.TypeNode): string | undefined {
  const kinds = schemaTypes(schema);
  const union = unionOf(type);
  const nullable = union.some(isNull);
  if (kinds.includes('null') !== nullable) {
    return kinds.includes('null') ? 'is nullable in the document, not in wireTypes.ts' : 'is nullable in wireTypes.ts only';
  }
  const [value, ...more] = union.filter((t) => !isNull(t));
  if (!value) return 'has no type';
  const ref = refName(schema);
  if (ref) {
    const expected = interfaceOf[ref];
    return more.length === 0 && ts.isTypeReferenceNode(value) && value.typeName.getText(source) === expected
      ? undefined
      : `should be ${expected ?? ref}, is ${type.getText(source)}`;
  }
  // Numbers are written as JSON numbers; the document also allows strings for reading (web defaults).
  const kind = kinds.find((k) => k !== 'null' && k !== 'string') ?? kinds.find((k) => k !== 'null');
  switch (kind) {
    case 'integer':
    case 'number':
      return value.kind === ts.SyntaxKind.NumberKeyword && more.length === 0 ? undefined : `should be number, is ${type.getText(source)}`;
    case 'boolean':
      return value.kind === ts.SyntaxKind.BooleanKeyword && more.length === 0 ? undefined : `should be boolean, is ${type.getText(source)}`;
    case 'string': {
      const strings = [value, ...more].every(
        (t) => t.kind === ts.SyntaxKind.StringKeyword || (ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal)),
      );
      return strings ? undefined : `should be a string, is ${type.getText(source)}`;
    }
    case 'array':
      return ts.isArrayTypeNode(value) && more.length === 0 && schema.items
        ? mismatch(schema.items, value.elementType)
        : `should be an array, is ${type.getText(source)}`;
    case 'object':
      return schema.additionalProperties &&
        ts.isTypeReferenceNode(value) &&
        value.typeName.getText(source) === 'Record' &&
        value.typeArguments?.[1]
        ? mismatch(schema.additionalProperties, value.typeArguments[1])
        : `should be a Record, is ${type.getText(source)}`;
    default:
      return `has a schema this test does not know (${JSON.stringify(schema)})`;
  }
}

describe('wireTypes.ts against the OpenAPI document', () => {
  it('has an interface for every schema of the document', () => {
    expect(Object.keys(schemas).filter((name) => !(name in interfaceOf))).toEqual([]);
  });

  it.each(Object.entries(interfaceOf))('%s is %s, member for member', (schemaName, interfaceName) => {
    const schema = schemas[schemaName];
    expect(schema, `the document has no schema ${schemaName}`).toBeDefined();
    const properties = schema!.properties ?? {};
    const members = membersOf(interfaceName);

    const extensions = extensionsOf[interfaceName] ?? [];
    const names = [...members.keys()].filter((name) => !extensions.includes(name));
    expect(names.sort()).toEqual(Object.keys(properties).sort());
    const problems: string[] = [];
    for (const [name, property] of Object.entries(properties)) {
      const member = members.get(name)!;
      const problem = mismatch(property, member.type);
      if (problem) problems.push(`${interfaceName}.${name} ${problem}`);
      if (member.optional && schema!.required?.includes(name)) {
        problems.push(`${interfaceName}.${name} is optional in wireTypes.ts but always sent`);
      }
    }
    expect(problems).toEqual([]);
  });

});
