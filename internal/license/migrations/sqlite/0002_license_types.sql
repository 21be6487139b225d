-- The catalogue of licence types, each with the JSON schema its attributes are checked against at
-- issue (the subset of JSON Schema that internal/license/schema.hpp understands).
INSERT INTO license_types (code, name, schema) VALUES
('business_licence', 'Business licence (营业执照)',
 '{"type":"object","additionalProperties":false,"required":["company_name","legal_representative","registered_capital_cny"],"properties":{"company_name":{"type":"string","minLength":1,"maxLength":200},"legal_representative":{"type":"string","minLength":1,"maxLength":100},"registered_capital_cny":{"type":"integer","minimum":0},"company_type":{"type":"string","enum":["limited_liability","joint_stock","sole_proprietorship","partnership"]},"business_scope":{"type":"string","maxLength":2000}}}'),
('driving_licence', 'Driving licence (驾驶证)',
 '{"type":"object","additionalProperties":false,"required":["name","class"],"properties":{"name":{"type":"string","minLength":1,"maxLength":100},"class":{"type":"string","enum":["A1","A2","A3","B1","B2","C1","C2","D","E","F"]},"organ_donor":{"type":"boolean"}}}'),
('professional_qualification', 'Professional qualification (职业资格证书)',
 '{"type":"object","additionalProperties":false,"required":["name","profession","level"],"properties":{"name":{"type":"string","minLength":1,"maxLength":100},"profession":{"type":"string","minLength":1,"maxLength":100},"level":{"type":"string","enum":["junior","intermediate","senior"]},"registration_number":{"type":"string","maxLength":64}}}');
